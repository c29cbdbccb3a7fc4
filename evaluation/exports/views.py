"""Pages of the export jobs: ask for one (POST from the offer page of a large export), follow it, download it,
and « Mes exports ». Every job is read through `ExportJob.objects.visible_to(scope)` and its requester: anyone
else gets a 404, the national level included (the file holds the requester's scope, nobody else's)."""

import django_filters
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from dsfr.forms import DsfrBaseForm

from charte.web import pk_or_404

from ..models import ExportJob
from . import jobs


def _jobs(request):
    return ExportJob.objects.visible_to(request.scope).filter(created_by=request.user)


def _job(request, pk):
    return get_object_or_404(_jobs(request).select_related("organisation"), pk=pk_or_404(pk))


class ExportJobFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label="Liste", choices=ExportJob.Kind.choices, empty_label="Toutes les listes")
    status = django_filters.ChoiceFilter(label="État", choices=ExportJob.Status.choices, empty_label="Tous les états")

    class Meta:
        model = ExportJob
        fields = ["kind", "status"]
        form = DsfrBaseForm


def _crumbs(current, job=None):
    links = [{"url": reverse("exports:list"), "title": "Mes exports"}] if job else []
    return {"links": links, "current": current}


@require_GET
def job_list(request):
    job_filter = ExportJobFilter(request.GET or None, queryset=_jobs(request).select_related("organisation"))
    page_obj = Paginator(job_filter.qs, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "exports/list.html",
        {
            "filter": job_filter,
            "page_obj": page_obj,
            "jobs": page_obj.object_list,
            "retention_days": settings.EXPORT_RETENTION_DAYS,
            "breadcrumb_data": _crumbs("Mes exports"),
        },
    )


@require_POST
def job_create(request):
    try:
        job = jobs.create_job(
            user=request.user, scope=request.scope, kind=request.POST.get("kind", ""), query=request.POST.get("query", "")
        )
    except jobs.ExportRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("exports:list")
    messages.success(request, "L'export est en préparation : vous serez prévenu quand le fichier sera prêt.")
    return redirect("exports:detail", pk=job.pk)


@require_GET
def job_detail(request, pk):
    job = _job(request, pk)
    return render(
        request,
        "exports/detail.html",
        {"job": job, "breadcrumb_data": _crumbs(str(job), job)},
    )


@require_GET
def job_progress(request, pk):
    job = _job(request, pk)
    return JsonResponse(
        {
            "status": job.status,
            "label": job.get_status_display(),
            "percent": job.progress_percent,
            "rows_done": job.rows_done,
            "rows_total": job.rows_total,
            "finished": not job.is_running,
            "succeeded": job.status == ExportJob.Status.DONE,
            "message": job.message,
            "detail_url": reverse("exports:detail", args=[job.pk]),
            "download_url": reverse("exports:download", args=[job.pk]),
        }
    )


@require_GET
def job_download(request, pk):
    job = _job(request, pk)
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404("Ce fichier n'est pas (ou plus) disponible.")
    try:
        handle = job.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404("Ce fichier n'est plus disponible.") from missing
    return FileResponse(handle, as_attachment=True, filename=jobs.file_name(job), content_type="text/csv; charset=utf-8")
