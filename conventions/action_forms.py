"""The animator's action logging form and its partner-structures formset.

Every choice list comes from the models' `visible_to(scope)`, so a value posted by hand outside the person's
scope is refused like any invalid choice. When an existing action is edited, its current links stay
offered even if they fall outside the editor's scope (a company editing an action it shares with
another company must not silently drop that company).
"""

from itertools import groupby

from django import forms
from django.db.models import Q
from dsfr.forms import DsfrBaseForm

from charte.catalogue.models import ActionType
from charte.comptes.models import Organisation
from charte.territoires.models import QPV, Departement
from charte.web import DsfrModelForm
from entreprises.models import Company

from .action_services import link_errors
from .models import Action, ActionPartner, Convention

SUB_COUNTS = ("beneficiaries_women", "beneficiaries_under_26", "beneficiaries_qpv")


def _with_current(queryset, model, current_ids):
    """The scoped queryset, plus the rows the edited action already points to."""
    current_ids = [pk for pk in current_ids if pk is not None]
    if not current_ids:
        return queryset
    return model.objects.filter(Q(pk__in=queryset.values("pk")) | Q(pk__in=current_ids))


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class ActionForm(DsfrModelForm):
    # The version the page displayed (charte.concurrency): a save from a stale page is refused.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Action
        fields = [
            "action_type",
            "start_date",
            "end_date",
            "title",
            "description",
            "departement",
            "companies",
            "qpvs",
            "convention",
            "club",
            "beneficiaries_total",
            "beneficiaries_women",
            "beneficiaries_under_26",
            "beneficiaries_qpv",
            "employees_involved",
            "hours",
        ]
        widgets = {
            "start_date": DateInput(),
            "end_date": DateInput(),
            "description": forms.Textarea(attrs={"rows": 3}),
            "companies": forms.CheckboxSelectMultiple(),
            "qpvs": forms.CheckboxSelectMultiple(),
        }
        help_texts = {
            "end_date": "Seulement si l'action a duré plusieurs jours. Format : jj/mm/aaaa.",
            "start_date": "Format : jj/mm/aaaa.",
            "title": "Par exemple : « Stages de 3e au collège Las Cazes ».",
            "companies": "Les entreprises qui ont pris part à l'action.",
            "qpvs": "Les quartiers dont venaient les bénéficiaires ; ils doivent être dans le département de l'action.",
            "convention": "La convention que l'action met en œuvre ; elle doit concerner l'une des entreprises choisies.",
            "beneficiaries_total": "Nombre de personnes ayant bénéficié de l'action (aucune donnée nominative).",
            "beneficiaries_women": "Parmi les bénéficiaires.",
            "beneficiaries_under_26": "Parmi les bénéficiaires.",
            "beneficiaries_qpv": "Parmi les bénéficiaires.",
            "hours": "Temps donné par les salariés, en heures (par exemple 3,5).",
        }

    def __init__(self, *args, scope, **kwargs):
        super().__init__(*args, **kwargs)
        self.scope = scope
        action = self.instance
        editing = action.pk is not None
        if editing:
            self.fields["version"].initial = action.version

        types = ActionType.objects.select_related("family").filter(Q(is_active=True) | Q(pk=action.action_type_id))
        types = types.order_by("family__position", "family__code", "label")
        self.fields["action_type"].queryset = types
        self.fields["action_type"].choices = self._grouped_types(types)

        companies = Company.objects.visible_to(scope)
        departements = Departement.objects.visible_to(scope)
        qpvs = QPV.objects.visible_to(scope)
        conventions = Convention.objects.visible_to(scope).exclude(kind=Convention.Kind.FRAMEWORK)
        if editing:
            companies = _with_current(companies, Company, list(action.companies.values_list("pk", flat=True)))
            departements = _with_current(departements, Departement, [action.departement_id])
            qpvs = _with_current(qpvs, QPV, list(action.qpvs.values_list("pk", flat=True)))
            conventions = _with_current(conventions, Convention, [action.convention_id])
        self.fields["companies"].queryset = companies.order_by("name").only("pk", "name", "siren")
        self.fields["departement"].queryset = departements.select_related(None).order_by("code")
        self.fields["departement"].empty_label = "Choisissez un département"
        self.fields["qpvs"].queryset = qpvs.select_related("departement").order_by("departement__code", "-generation", "name")
        self.fields["convention"].queryset = conventions.order_by("reference").only("pk", "reference", "title")
        self.fields["convention"].empty_label = "Aucune convention"

        # A club logs for itself; a company has no club to pick. Préfecture and national may name the club.
        if scope.is_prefecture or scope.is_national:
            self.fields["club"].queryset = _with_current(
                Organisation.objects.clubs_visible_to(scope), Organisation, [action.club_id]
            )
            self.fields["club"].empty_label = "Aucun club"
            self.fields["club"].help_text = "Le club d'entreprises qui a animé l'action, s'il y en a un."
        else:
            del self.fields["club"]

        if not editing and not self.is_bound:
            # The instance's empty values are already in self.initial: test for a value, not a key.
            if scope.is_company and scope.company_id and not self.initial.get("companies"):
                self.initial["companies"] = [scope.company_id]
            if not self.initial.get("departement"):
                only = list(self.fields["departement"].queryset.values_list("pk", flat=True)[:2])
                if len(only) == 1:
                    self.initial["departement"] = only[0]

    @staticmethod
    def _grouped_types(types):
        """The action types grouped by family, rendered as <optgroup> by the select."""
        choices = [("", "Choisissez un type d'action")]
        for family, members in groupby(types, key=lambda t: t.family):
            choices.append((family.label, [(t.pk, t.label) for t in members]))
        return choices

    # --- display helpers for the long checkbox lists (the template renders them itself) ---------------

    def _selected_ids(self, name):
        if self.is_bound:
            values = self.data.getlist(self.add_prefix(name))
        else:
            values = self.initial.get(name) or []
            if not values and self.instance.pk:
                values = [obj.pk for obj in getattr(self.instance, name).all()]
        return {str(getattr(v, "pk", v)) for v in values}

    def _chosen_departement_id(self):
        value = self["departement"].value()
        value = getattr(value, "pk", value)
        return str(value) if value not in (None, "") else None

    def company_options(self):
        selected = self._selected_ids("companies")
        return [
            {
                "id": f"id_companies_{company.pk}",
                "value": company.pk,
                "label": f"{company.name} (SIREN {company.siren})",
                "checked": str(company.pk) in selected,
            }
            for company in self.fields["companies"].queryset
        ]

    def qpv_groups(self):
        """QPV grouped by département and generation. A national user sees those of the chosen
        département only (plus any already ticked, so that a refused choice stays visible next to its
        message); others see all those of their territory, and the script hides other départements."""
        selected = self._selected_ids("qpvs")
        qpvs = self.fields["qpvs"].queryset
        if self.scope.is_national:
            # Thousands of QPV nationwide: only those of the chosen département are listed.
            departement_id = self._chosen_departement_id()
            ticked = [int(pk) for pk in selected if pk.isdigit()]
            if departement_id and departement_id.isdigit():
                qpvs = qpvs.filter(Q(departement_id=departement_id) | Q(pk__in=ticked))
            else:
                qpvs = qpvs.filter(pk__in=ticked)
        groups = []
        for (departement, generation), members in groupby(qpvs, key=lambda q: (q.departement, q.generation)):
            groups.append(
                {
                    "label": f"{departement.name} ({departement.code}) — QPV {generation}",
                    "departement_id": departement.pk,
                    "options": [
                        {
                            "id": f"id_qpvs_{qpv.pk}",
                            "value": qpv.pk,
                            "label": f"{qpv.name} ({qpv.code})",
                            "checked": str(qpv.pk) in selected,
                        }
                        for qpv in members
                    ],
                }
            )
        return groups

    @property
    def lists_qpvs_by_departement(self):
        return self.scope.is_national

    def initial_from_query(self, query):
        """Prefill from the query string: the "show the QPV of this département" button sends the form
        by GET so that nothing typed is lost while the QPV list is reloaded."""
        for name, field in self.fields.items():
            key = self.add_prefix(name)
            if key not in query:
                continue
            if isinstance(field, forms.ModelMultipleChoiceField):
                self.initial[name] = [v for v in query.getlist(key) if v.isdigit()]
            else:
                self.initial[name] = query.get(key)

    # --- validation ----------------------------------------------------------------------------------

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", "La date de fin doit être postérieure ou égale à la date de début.")
        total = cleaned.get("beneficiaries_total")
        if total is not None:
            for name in SUB_COUNTS:
                value = cleaned.get(name)
                if value is not None and value > total:
                    self.add_error(name, f"Ce nombre ne peut pas dépasser le nombre total de bénéficiaires ({total}).")
        errors = link_errors(
            departement=cleaned.get("departement"),
            qpvs=cleaned.get("qpvs") or [],
            convention=cleaned.get("convention"),
            companies=cleaned.get("companies") or [],
        )
        for name, messages in errors.items():
            for message in messages:
                self.add_error(name, message)
        return cleaned


class PartnerForm(DsfrBaseForm):
    kind = forms.ChoiceField(
        label="Type de structure", choices=[("", "Choisissez un type")] + list(ActionPartner.Kind.choices), required=False
    )
    name = forms.CharField(label="Nom de la structure", max_length=200, required=False)

    def clean(self):
        cleaned = super().clean()
        kind, name = cleaned.get("kind"), (cleaned.get("name") or "").strip()
        if name and not kind:
            self.add_error("kind", "Précisez le type de cette structure.")
        if kind and not name:
            self.add_error("name", "Indiquez le nom de la structure.")
        return cleaned


class BasePartnerFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = "Retirer cette structure"


PartnerFormSet = forms.formset_factory(
    PartnerForm, formset=BasePartnerFormSet, extra=2, can_delete=True, max_num=30, validate_max=True
)


def partner_formset(data=None, action=None):
    initial = None
    if action is not None and action.pk:
        initial = [{"kind": p.kind, "name": p.name} for p in action.partners.all()]
    formset = PartnerFormSet(data=data, initial=initial, prefix="partenaires")
    return formset


def partners_from(formset):
    """The (kind, name) pairs of a valid formset, leaving out removed and empty rows."""
    pairs = []
    for form in formset.forms:
        data = form.cleaned_data
        if not data or data.get("DELETE") or not (data.get("name") or "").strip():
            continue
        pairs.append((data["kind"], data["name"].strip()))
    return pairs
