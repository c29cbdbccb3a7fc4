"""Export jobs on the national benchmark dataset (issues 14/17), on a benchmark database only.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/charte_bench_export python scripts/benchmark_exports.py [--sample 200000]

Prints the machine's load average, then, each in a fresh process (so that its peak memory, VmHWM, is its own):
- rows/s of the actions row builder as the list view had it (three querysets rebuilt per row on the prefetched
  relations) and as the export now has it (`conventions.exports.action_rows`: lists from `Prefetch(to_attr=)`),
  over the first `--sample` national rows;
- the national actions export run as an export job (`evaluation.exports.jobs.run`, the Celery task's body), for
  the national user and the préfecture of département 34, then the national conventions and companies exports as
  jobs: rows, total time, rows/s, file size, peak memory.
Users are created on the first run (national@export.invalid, prefecture34@export.invalid), in that database only.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charte.settings")


def status(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    return 0


def setup():
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql" or not connection.settings_dict["NAME"].startswith(("charte_scale", "charte_bench")):
        sys.exit("Mesure réservée à une base de banc d'essai (charte_bench…).")


def account(role):
    from charte.comptes.models import Membership, Organisation, OrganisationKind, User
    from charte.territoires.models import Departement

    if role == "national":
        organisation = Organisation.objects.filter(kind=OrganisationKind.NATIONAL).first()
        if organisation is None:
            organisation = Organisation.objects.create(kind=OrganisationKind.NATIONAL, name="ANCT (banc d'essai)")
    else:
        organisation = Organisation.objects.filter(kind=OrganisationKind.PREFECTURE, departements__code="34").first()
        if organisation is None:
            organisation = Organisation.objects.create(kind=OrganisationKind.PREFECTURE, name="Préfecture 34 (banc)")
            organisation.departements.add(Departement.objects.get(code="34"))
    user, _ = User.objects.get_or_create(email=f"{role}@export.invalid".replace("prefecture", "prefecture34"))
    membership, _ = Membership.objects.get_or_create(user=user, organisation=organisation, defaults={"role": "admin"})
    if not membership.is_active:
        Membership.objects.filter(pk=membership.pk).update(is_active=True)
    return user, membership


def old_rows(scope, sample):
    """The row builder of the list view before this change (conventions/action_views.py on main), on a sample."""
    from django.utils import timezone

    from conventions.action_views import _actions, _with_visibility
    from conventions.exports import NOT_VISIBLE

    for action in _actions(scope).prefetch_related("partners").order_by("pk")[:sample].iterator(chunk_size=1000):
        _with_visibility(action)
        companies = action.shown_companies
        yield [
            action.pk,
            action.start_date.strftime("%d/%m/%Y") if action.start_date else "",
            action.end_date.strftime("%d/%m/%Y") if action.end_date else "",
            action.action_type.label,
            action.action_type.family.label,
            action.title,
            ", ".join([*(c.name for c in companies), *([action.other_companies] if action.other_companies else [])]),
            ", ".join(c.siren for c in companies),
            ", ".join(q.code for q in action.qpvs.all()),
            action.departement.code,
            (action.shown_convention.reference if action.shown_convention else NOT_VISIBLE) if action.convention_id else "",
            action.beneficiaries_total,
            action.beneficiaries_women,
            action.beneficiaries_under_26,
            action.beneficiaries_qpv,
            action.employees_involved,
            str(action.hours).replace(".", ","),
            ", ".join(f"{p.name} ({p.get_kind_display()})" for p in action.partners.all()),
            action.club.name if action.club else "",
            str(action.logged_by) if action.logged_by else "",
            timezone.localtime(action.created_at).strftime("%d/%m/%Y %H:%M"),
        ]


def new_rows(scope, sample):
    from conventions.exports import action_queryset, action_rows

    return action_rows(action_queryset(scope).order_by("pk")[:sample], scope)


def one(what, role, sample):
    setup()
    from charte.comptes.scoping import Scope
    from charte.web import csv_blocks
    from conventions.exports import ACTION_COLUMNS
    from evaluation.exports import jobs
    from evaluation.models import ExportJob

    user, membership = account(role)
    scope = Scope.for_membership(membership)
    base = status("VmRSS")
    started = time.perf_counter()
    if what in ("old", "new"):  # the actions row builders alone, on the first `sample` rows
        builder = old_rows if what == "old" else new_rows
        rows = size = 0
        for block in csv_blocks(ACTION_COLUMNS, builder(scope, sample)):
            size += len(block)
            rows += block.count("\r\n")
        rows -= 1
    else:
        kind = what.partition("-")[2] or "actions"
        job = ExportJob.objects.create(
            kind=kind, created_by=user, membership=membership, organisation=membership.organisation
        )
        job = jobs.run(job.pk)
        assert job.status == ExportJob.Status.DONE, job.message
        rows, size = job.rows_done, job.file_size
        job.file.storage.delete(job.file.name)
    elapsed = time.perf_counter() - started
    print(
        f"{what:16} {role:10} {rows:>9} lignes  {elapsed:7.1f} s  {rows / elapsed:>8.0f} lignes/s  "
        f"{size / 1e6:7.1f} Mo  RSS au départ {base} Mo, pic (VmHWM) {status('VmHWM')} Mo",
        flush=True,
    )


def main():
    args = sys.argv[1:]
    if args and args[0] == "--one":
        return one(args[1], args[2], int(args[3]))
    sample = int(args[args.index("--sample") + 1]) if "--sample" in args else 200_000
    print("Charge de la machine (1, 5, 15 min) :", " ".join(f"{x:.2f}" for x in os.getloadavg()), "—", os.cpu_count(), "cœurs")
    runs = [
        ("old", "national"),
        ("new", "national"),
        ("job", "national"),
        ("job", "prefecture"),
        ("job-conventions", "national"),
        ("job-entreprises", "national"),
    ]
    for what, role in runs:
        if "--jobs-only" in args and what != "job":
            continue
        subprocess.run([sys.executable, __file__, "--one", what, role, str(sample)], check=True)
    print("Charge de la machine (1, 5, 15 min) :", " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
