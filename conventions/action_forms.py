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
from charte.web import Checklist, DsfrModelForm
from entreprises.models import Company

from .action_services import link_errors
from .imports.actions import parse_partners
from .imports.reading import CellError
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
            "companies": Checklist(),
            "qpvs": Checklist(),
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

        if "action_type" in self.fields:
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
        # The grid's forms (below) carry a part of these fields only: each one gets the same scoped choices.
        fields = self.fields
        if "companies" in fields:
            fields["companies"].queryset = companies.order_by("name").only("pk", "name", "siren")
        if "departement" in fields:
            fields["departement"].queryset = departements.select_related(None).order_by("code")
            fields["departement"].empty_label = "Choisissez un département"
        if "qpvs" in fields:
            fields["qpvs"].queryset = qpvs.select_related("departement").order_by("departement__code", "-generation", "name")
        if "convention" in fields:
            fields["convention"].queryset = conventions.order_by("reference").only("pk", "reference", "title")
            fields["convention"].empty_label = "Aucune convention"

        # A club logs for itself; a company has no club to pick. Préfecture and national may name the club.
        if "club" in fields:
            if scope.is_prefecture or scope.is_national:
                clubs = Organisation.objects.clubs_visible_to(scope)
                fields["club"].queryset = _with_current(clubs, Organisation, [action.club_id])
                fields["club"].empty_label = "Aucun club"
                fields["club"].help_text = "Le club d'entreprises qui a animé l'action, s'il y en a un."
            else:
                del fields["club"]

        if not editing and not self.is_bound:
            # The instance's empty values are already in self.initial: test for a value, not a key.
            if "companies" in fields and scope.is_company and scope.company_id and not self.initial.get("companies"):
                self.initial["companies"] = [scope.company_id]
            if "departement" in fields and not self.initial.get("departement"):
                only = list(fields["departement"].queryset.values_list("pk", flat=True)[:2])
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

    def initial_from_action(self, action, names):
        """Prefill a new action from an existing one (duplicate, "save and enter another"). Only what this
        person may choose is carried over: a company, QPV, convention or club out of their scope is left
        out, so the page never offers a value the form would refuse."""
        for name in names:
            field = self.fields.get(name)
            if field is None:
                continue
            if isinstance(field, forms.ModelMultipleChoiceField):
                ids = [obj.pk for obj in getattr(action, name).all()]
                kept = list(field.queryset.filter(pk__in=ids).values_list("pk", flat=True)) if ids else []
                # A company user's own company stays ticked when the source named only others.
                if kept or not self.initial.get(name):
                    self.initial[name] = kept
            elif isinstance(field, forms.ModelChoiceField):
                pk = getattr(action, f"{name}_id")
                if pk is not None and field.queryset.filter(pk=pk).exists():
                    self.initial[name] = pk
            else:
                self.initial[name] = getattr(action, name)

    # --- validation ----------------------------------------------------------------------------------

    def _linked(self, cleaned, name):
        """A field's value, or, for a form that does not carry the field (a grid row), the value the grid
        set on the instance: the link rules are checked the same way in both."""
        if name in self.fields:
            return cleaned.get(name)
        return getattr(self.instance, name, None)

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
            departement=self._linked(cleaned, "departement"),
            qpvs=cleaned.get("qpvs") or [],
            convention=self._linked(cleaned, "convention"),
            companies=cleaned.get("companies") or [],
        )
        for name, messages in errors.items():
            for message in messages:
                # A grid row has no convention field: the refusal shows on its companies, the row's choice.
                self.add_error(name if name in self.fields else "companies", message)
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
    summary_item_label = "Structure partenaire"  # how the error summary names a row

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


# --- the grid: several actions of one type at once ----------------------------------------------------------

PARTNERS_HELP = (
    "Chaque structure écrite « Nom (Type) », séparées par des virgules, par exemple « Collège Las Cazes (Collège), "
    "Mission locale de Montpellier (Mission locale) ». Types : "
    + ", ".join(label for _, label in ActionPartner.Kind.choices)
    + "."
)

# What "Enregistrer et saisir une autre" carries into the next form: the circumstances, not the counts.
KEPT_FOR_NEXT = ("action_type", "start_date", "end_date", "departement", "companies", "qpvs", "convention", "club")
GRID_MAX_ROWS = 50
GRID_DEFAULT_ROWS = 10


class GridSharedForm(ActionForm):
    """The grid's header: what every row shares. The same field logic as the single form (scoped choices,
    the département preselected when there is one), on a part of its fields."""

    default_date = forms.DateField(
        label="Date commune",
        required=False,
        widget=DateInput(),
        help_text="Reprise dans chaque ligne dont la date est vide.",
    )

    class Meta(ActionForm.Meta):
        fields = ["action_type", "departement", "convention", "club"]
        help_texts = {
            **ActionForm.Meta.help_texts,
            "convention": (
                "La convention que toutes ces actions mettent en œuvre ; elle doit concerner une entreprise de chaque ligne."
            ),
        }

    def shared_values(self):
        """The values each row's action receives, once the header is valid."""
        data = self.cleaned_data
        values = {name: data.get(name) for name in ("action_type", "departement", "convention")}
        if "club" in self.fields:
            values["club"] = data.get("club")
        return values


class GridRowForm(ActionForm):
    """One row of the grid: one action, its type, département, convention and club set by the header on
    its instance. ActionForm's rules (counts within the total, QPV of the département, convention of one
    of the companies) apply unchanged."""

    class Meta(ActionForm.Meta):
        fields = [
            "start_date",
            "title",
            "description",
            "companies",
            "qpvs",
            "beneficiaries_total",
            "beneficiaries_qpv",
            "employees_involved",
            "hours",
        ]
        widgets = {
            **ActionForm.Meta.widgets,
            "description": forms.Textarea(attrs={"rows": 2}),
            "companies": forms.SelectMultiple(attrs={"size": 4}),
            "qpvs": forms.SelectMultiple(attrs={"size": 4}),
        }

    # The partner structures of a row, written as the export and the import write them (one rule for reading them:
    # conventions.imports.actions.parse_partners): a row is one line of text, without JavaScript.
    partners = forms.CharField(
        label="Structures partenaires",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=PARTNERS_HELP,
    )
    CELLS = ["start_date", "title", "description", "companies", "qpvs", "partners", *Meta.fields[5:]]

    def __init__(self, *args, scope, default_date=None, choices=None, **kwargs):
        super().__init__(*args, scope=scope, **kwargs)
        self.default_date = default_date
        # A row may leave its date to the header's common date.
        self.fields["start_date"].required = False
        for name, options in (choices or {}).items():
            # Listed once for the whole grid (not one query per row); validation still uses the scoped queryset.
            self.fields[name].choices = options
        if scope.is_company and scope.company_id:
            # Set whether bound or not: a row left empty must read as unchanged, company ticked or not.
            self.initial["companies"] = [scope.company_id]

    def has_changed(self):
        """A row is filled when something was typed in it. A number cell emptied by hand reads like its
        0: a row of blanks stays an empty row, ignored, rather than a row of "required" errors."""
        return any(self[name].data not in (None, "", []) for name in self.changed_data)

    def clean_partners(self):
        try:
            return parse_partners(self.cleaned_data.get("partners"))
        except CellError as error:
            raise forms.ValidationError(str(error)) from error

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start_date") is None and "start_date" not in self.errors:
            if self.default_date is None:
                self.add_error("start_date", "Indiquez la date de l'action, ou une date commune en haut de la grille.")
            else:
                cleaned["start_date"] = self.default_date
        return cleaned

    def cells(self):
        """Each cell's field, its widget (described by its error when it has one) and its messages."""
        cells = []
        for name in self.CELLS:
            bound = self[name]
            attrs = {"aria-describedby": f"{bound.auto_id}-desc-error"} if bound.errors else {}
            cells.append({"field": bound, "widget": bound.as_widget(attrs=attrs), "errors": bound.errors})
        return cells


class BaseGridFormSet(forms.BaseFormSet):
    def __init__(self, *args, scope, shared, default_date, choices, **kwargs):
        self.scope, self.shared, self.default_date, self.choices = scope, shared, default_date, choices
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        action = Action(**self.shared)
        if self.scope.is_club:
            action.club_id = self.scope.organisation_id
        return {"scope": self.scope, "instance": action, "default_date": self.default_date, "choices": self.choices}

    def filled_forms(self):
        return [form for form in self.forms if form.has_changed()]

    def clean(self):
        if any(self.errors):
            return
        if not self.filled_forms():
            raise forms.ValidationError("Remplissez au moins une ligne de la grille.")


def grid_formset_class(rows):
    """The grid's formset offering `rows` empty rows (a bound one takes its count from the posted data)."""
    return forms.formset_factory(
        GridRowForm, formset=BaseGridFormSet, extra=rows, max_num=GRID_MAX_ROWS, validate_max=True, absolute_max=GRID_MAX_ROWS
    )
