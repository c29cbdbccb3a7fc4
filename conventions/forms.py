"""Forms of the convention pages. Every choice list is limited to the person's scope (`scope` is passed in).

The create/edit page is one HTML form made of three parts (`ConventionEditor`): the convention's fields,
a formset of commitments and a formset of targets whose rows name their commitment by its number on the
page. It works without JavaScript; `static/js/conventions-form.js` only narrows some drop-down lists.
"""

import datetime
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.forms import BaseFormSet, formset_factory, inlineformset_factory
from django.utils import timezone
from dsfr.forms import DsfrBaseForm

from charte.catalogue.models import ActionType, Family, Indicator
from charte.comptes.models import Organisation
from charte.territoires.models import Departement
from charte.web import Checklist, DsfrModelForm, NamedDeleteMixin, bound_inputs, checklist_options, french_empty_labels
from entreprises.models import Company

from . import permissions
from .models import Commitment, Convention, Signatory

PDF_MAX_BYTES = 10 * 1024 * 1024


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class SelectWithData(forms.Select):
    """A drop-down whose options carry a `data-<name>` attribute, so the optional script can filter them."""

    def __init__(self, *args, data_name="", data=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.data_name = data_name
        self.option_data = data or {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        key = getattr(value, "value", value)
        if key in self.option_data:
            option["attrs"][f"data-{self.data_name}"] = self.option_data[key]
        return option


class FrameworkChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.reference} — {obj.title}" + (f" ({obj.departement.code})" if obj.departement_id else "")


class ConventionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.reference} — {obj.title}"


# --- the convention itself ---------------------------------------------------------------------------


class ConventionForm(DsfrModelForm):
    parent = ConventionChoiceField(
        queryset=Convention.objects.none(),
        required=False,
        label="Convention nationale déclinée",
        help_text="Pour une convention locale qui décline la convention nationale d'un groupe.",
        error_messages={
            "invalid_choice": "Cette convention nationale n'est pas dans votre périmètre : choisissez-en une de la liste."
        },
    )
    # The version the page displayed (charte.concurrency): a save from a stale page is refused.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    framework = FrameworkChoiceField(
        queryset=Convention.objects.none(),
        required=False,
        label="Charte-cadre départementale",
        help_text="La charte-cadre du département dont relève la convention.",
    )

    class Meta:
        model = Convention
        fields = [
            "reference",
            "title",
            "kind",
            "generation",
            "start_date",
            "end_date",
            "departement",
            "club",
            "companies",
            "parent",
            "framework",
        ]
        widgets = {
            "start_date": DateInput(),
            "end_date": DateInput(),
            "companies": Checklist(),
        }
        help_texts = {
            "companies": "Au moins une, sauf pour une charte-cadre. Cochez-en autant que nécessaire.",
            "generation": "En 2e génération, les objectifs par indicateur et par année sont fixés à la signature.",
        }
        error_messages = {
            "reference": {"unique": "Cette référence est déjà celle d'une autre convention."},
        }

    def __init__(self, *args, scope, **kwargs):
        self.scope = scope
        super().__init__(*args, **kwargs)
        kinds = permissions.creatable_kinds(scope)
        if self.instance.pk and self.instance.kind not in kinds:
            kinds = [*kinds, Convention.Kind(self.instance.kind)]
        self.fields["kind"].choices = [("", "Choisir un type")] + [(kind.value, kind.label) for kind in kinds]
        if self.instance.pk is not None:
            self.fields["version"].initial = self.instance.version
        if self.instance.pk is None:
            self.fields["reference"].required = False
            self.fields["reference"].help_text = "Laissée vide, elle est attribuée automatiquement (par exemple 034-2017-0001)."

        self.fields["departement"].queryset = Departement.objects.visible_to(scope).order_by("code")
        self.fields["departement"].required = False
        self.fields["departement"].help_text = "Obligatoire, sauf pour une convention nationale."

        clubs = Organisation.objects.clubs_visible_to(scope).order_by("name")
        self.fields["club"].queryset = clubs
        if scope.is_club:
            # A club only creates the conventions it animates itself.
            self.fields["club"].required = True
            self.fields["club"].empty_label = None
            self.fields["club"].initial = scope.organisation_id

        self.fields["companies"].queryset = Company.objects.visible_to(scope).order_by("name")

        # Only the national conventions the person already sees (a declination grants nothing more): the
        # one already linked stays offered, so that editing does not silently drop it.
        visible_parents = Convention.objects.visible_to(scope).filter(kind=Convention.Kind.NATIONAL).values("pk")
        parents = Convention.objects.filter(kind=Convention.Kind.NATIONAL).order_by("reference")
        if self.instance.parent_id:
            parents = parents.filter(Q(pk__in=visible_parents) | Q(pk=self.instance.parent_id))
        else:
            parents = parents.filter(pk__in=visible_parents)
        frameworks = (
            Convention.objects.visible_to(scope)
            .filter(kind=Convention.Kind.FRAMEWORK, departement__in=Departement.objects.visible_to(scope).values("pk"))
            .select_related("departement")
            .order_by("departement__code", "-start_date")
        )
        if self.instance.pk:
            parents = parents.exclude(pk=self.instance.pk)
            frameworks = frameworks.exclude(pk=self.instance.pk)
        self.fields["parent"].queryset = parents
        self.fields["framework"].widget = SelectWithData(
            data_name="departement",
            data=dict(frameworks.values_list("pk", "departement_id")),
            attrs={"class": "fr-select"},
        )
        self.fields["framework"].queryset = frameworks
        self.fields["departement"].widget.attrs["data-controls-framework"] = "1"
        # The parent's __init__ already built the bound fields, which copy label and help text: rebuild them.
        self._bound_fields_cache.clear()

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        departement = cleaned.get("departement")
        framework = cleaned.get("framework")
        if start and end and end < start:
            self.add_error("end_date", "La date de fin doit être postérieure à la date de début.")
        if kind and kind != Convention.Kind.NATIONAL and not departement and "departement" not in self.errors:
            self.add_error("departement", "Une convention non nationale est rattachée à un département.")
        if kind == Convention.Kind.NATIONAL and cleaned.get("parent"):
            self.add_error("parent", "Une convention nationale ne décline pas une autre convention nationale.")
        if framework:
            if kind == Convention.Kind.FRAMEWORK:
                self.add_error("framework", "Une charte-cadre ne relève pas d'une autre charte-cadre.")
            elif departement and framework.departement_id != departement.pk:
                self.add_error(
                    "framework",
                    f"Cette charte-cadre est celle d'un autre département ({framework.departement.code}) "
                    f"que celui de la convention ({departement.code}).",
                )
        if kind and kind != Convention.Kind.FRAMEWORK and not cleaned.get("companies") and "companies" not in self.errors:
            self.add_error("companies", "Choisissez au moins une entreprise signataire.")
        return cleaned

    def company_options(self):
        return checklist_options(self["companies"], self.fields["companies"].queryset, lambda c: f"{c.name} (SIREN {c.siren})")

    @property
    def years(self):
        """The convention's years as typed (None while the dates are missing or wrong)."""
        start, end = self.cleaned_data.get("start_date"), self.cleaned_data.get("end_date")
        if start and end and start <= end:
            return range(start.year, end.year + 1)
        return None


# --- commitments ---------------------------------------------------------------------------------------


def shared_choices(field, objects):
    """The options of a model choice field from objects read once for the whole page: each row of the
    commitment and target formsets would otherwise read the catalogue again. The queryset stays, to check
    what is posted."""
    empty = [("", field.empty_label)] if field.empty_label is not None else []
    field.choices = empty + [(obj.pk, field.label_from_instance(obj)) for obj in objects]


@dataclass(frozen=True)
class EditorCatalogue:
    families: list
    action_types: list
    indicators: list

    @classmethod
    def load(cls):
        return cls(
            families=list(Family.objects.filter(is_active=True)),
            action_types=list(ActionType.objects.filter(is_active=True).select_related("family")),
            indicators=list(
                Indicator.objects.filter(is_active=True).exclude(aggregation=Indicator.Aggregation.SURVEY).order_by("label")
            ),
        )


class CommitmentForm(DsfrModelForm):
    class Meta:
        model = Commitment
        fields = ["family", "action_type", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        help_texts = {"action_type": "Facultatif ; il doit appartenir à la famille choisie."}

    def __init__(self, *args, action_type_families=None, prefilled=False, catalogue=None, **kwargs):
        self.prefilled = prefilled
        super().__init__(*args, **kwargs)
        self.fields["family"].queryset = Family.objects.filter(is_active=True)
        self.fields["family"].widget.attrs["data-family-select"] = "1"
        field = self.fields["action_type"]
        field.widget = SelectWithData(
            data_name="family", data=action_type_families or {}, attrs={"class": "fr-select", "data-action-type": "1"}
        )
        field.queryset = ActionType.objects.filter(is_active=True).select_related("family")
        if catalogue:
            shared_choices(self.fields["family"], catalogue.families)
            shared_choices(field, catalogue.action_types)

    def has_changed(self):
        # A row prefilled from a diagnostic counts as typed: left as is, it must be saved, not skipped.
        if self.prefilled and self.is_bound:
            return any(self.data.get(self.add_prefix(name)) for name in self.fields if name != "DELETE")
        return super().has_changed()


class BaseCommitmentFormSet(NamedDeleteMixin, forms.BaseInlineFormSet):
    summary_item_label = "Engagement"  # how the error summary names a row, as the form's legends do
    delete_label = "Retirer cet engagement"

    prefilled_count = 0

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        if index is not None:
            position = index - self.initial_form_count()
            kwargs["prefilled"] = 0 <= position < self.prefilled_count
        return kwargs


CommitmentFormSet = inlineformset_factory(
    Convention, Commitment, form=CommitmentForm, formset=BaseCommitmentFormSet, extra=2, can_delete=True
)


def commitment_label(position, form):
    """'Engagement 2 — Stage de 3e': how target rows name the commitment they belong to."""
    source = form.instance if form.instance.pk else None
    action_type = source.action_type if source else form.initial.get("action_type")
    if isinstance(action_type, ActionType):
        return f"Engagement {position} — {action_type.label}"
    if source is not None:
        return f"Engagement {position} — {source.family.short_label}"
    return f"Engagement {position}"


# --- targets -------------------------------------------------------------------------------------------


class TargetForm(DsfrBaseForm):
    commitment = forms.TypedChoiceField(label="Engagement", coerce=int, choices=())
    indicator = forms.ModelChoiceField(label="Indicateur", queryset=Indicator.objects.none())
    year = forms.IntegerField(label="Année", min_value=1990, max_value=2100)
    value = forms.DecimalField(label="Objectif", min_value=0, max_digits=14, decimal_places=2)

    def __init__(self, *args, commitment_choices=(), catalogue=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["commitment"].choices = [("", "Choisir l'engagement"), *commitment_choices]
        self.fields["indicator"].queryset = (
            Indicator.objects.filter(is_active=True).exclude(aggregation=Indicator.Aggregation.SURVEY).order_by("label")
        )
        french_empty_labels(self)
        if catalogue:
            shared_choices(self.fields["indicator"], catalogue.indicators)

    def clean_indicator(self):
        indicator = self.cleaned_data["indicator"]
        if not indicator.is_declarable:
            raise ValidationError("Un indicateur calculé (ratio) ne porte pas d'objectif : choisissez ses deux termes.")
        return indicator


class BaseTargetFormSet(NamedDeleteMixin, BaseFormSet):
    summary_item_label = "Objectif"
    delete_label = "Retirer cet objectif"

    def check_against(self, live_positions, years):
        """Errors that need the rest of the page: a row naming an empty or deleted commitment, a year outside
        the convention's dates, the same indicator and year twice for one commitment."""
        seen = set()
        for form in self.forms:
            if self._should_delete_form(form) or not getattr(form, "cleaned_data", None):
                continue
            data = form.cleaned_data
            position = data.get("commitment")
            if position is not None and position not in live_positions:
                form.add_error("commitment", f"L'engagement {position} est vide ou supprimé : rattachez l'objectif à un autre.")
            year = data.get("year")
            if years is not None and year is not None and year not in years:
                form.add_error("year", f"L'année {year} est hors de la période de la convention ({years[0]}-{years[-1]}).")
            key = (position, data.get("indicator"), year)
            if None not in key:
                if key in seen:
                    form.add_error("year", "Un objectif existe déjà pour cet engagement, cet indicateur et cette année.")
                seen.add(key)

    def live_rows(self):
        # Left untouched, an extra row is skipped (empty cleaned_data); a row already saved is kept as is.
        for form in self.forms:
            if not self._should_delete_form(form) and form.cleaned_data:
                yield form.cleaned_data


TargetFormSet = formset_factory(TargetForm, formset=BaseTargetFormSet, extra=4, can_delete=True)


class ConventionEditor:
    """The three parts of the create/edit page, validated together and turned into the service's arguments."""

    def __init__(self, data=None, *, scope, instance=None, initial=None, initial_commitments=()):
        instance = instance or Convention()
        self.form = ConventionForm(data, scope=scope, instance=instance, initial=initial)
        initial_commitments = list(initial_commitments)
        formset_class = type(
            "CommitmentFormSet",
            (CommitmentFormSet,),
            {"extra": len(initial_commitments) + 2, "prefilled_count": len(initial_commitments)},
        )
        if instance.pk is None:
            queryset = Commitment.objects.none()
        else:
            queryset = instance.commitments.select_related("family", "action_type").prefetch_related("targets")
        catalogue = EditorCatalogue.load()
        families = {action_type.pk: action_type.family_id for action_type in catalogue.action_types}
        self.commitments = formset_class(
            data,
            instance=instance,
            queryset=queryset,
            prefix="commitments",
            initial=initial_commitments,
            form_kwargs={"action_type_families": families, "catalogue": catalogue},
        )
        choices = [(i, commitment_label(i, form)) for i, form in enumerate(self.commitments.forms, start=1)]
        target_initial = None
        if data is None and instance.pk:
            target_initial = [
                {"commitment": i, "indicator": target.indicator_id, "year": target.year, "value": target.value}
                for i, form in enumerate(self.commitments.initial_forms, start=1)
                for target in form.instance.targets.all()
            ]
        self.targets = TargetFormSet(
            data, prefix="targets", initial=target_initial, form_kwargs={"commitment_choices": choices, "catalogue": catalogue}
        )

    def is_valid(self):
        form_valid = self.form.is_valid()
        commitments_valid = self.commitments.is_valid()
        self.targets.is_valid()
        live = {i for i, form in enumerate(self.commitments.forms, start=1) if self._is_live(form)}
        # The years are known as soon as both dates are right, even when another field is refused.
        self.targets.check_against(live, self.form.years)
        return form_valid and commitments_valid and self.targets.is_valid()

    def _is_live(self, form):
        if self.commitments._should_delete_form(form):
            return False
        return bool(form.instance.pk) or form.has_changed()

    def service_arguments(self):
        """(convention instance, companies, commitments) for `services.save_convention` (the version the page
        displayed is `expected_version`)."""
        by_position = {}
        for row in self.targets.live_rows():
            by_position.setdefault(row["commitment"], []).append((row["indicator"], row["year"], row["value"]))
        commitments = []
        for position, form in enumerate(self.commitments.forms, start=1):
            deleted = self.commitments._should_delete_form(form)
            existing = form.instance if form.instance.pk else None
            if deleted and existing is None or not deleted and not self._is_live(form):
                continue
            data = form.cleaned_data
            commitments.append(
                {
                    "instance": existing,
                    "delete": deleted,
                    "family": data.get("family"),
                    "action_type": data.get("action_type"),
                    "description": data.get("description", ""),
                    "targets": by_position.get(position, []),
                }
            )
        return self.form.instance, self.form.cleaned_data.get("companies", []), commitments

    @property
    def expected_version(self):
        return self.form.cleaned_data.get("version")

    @property
    def has_errors(self):
        return bool(self.form.errors or self.commitments.total_error_count() or self.targets.total_error_count())


# --- lifecycle -----------------------------------------------------------------------------------------


class ConfirmForm(DsfrBaseForm):
    """Nothing to type: the page asks for a confirmation."""


class TerminateForm(DsfrBaseForm):
    termination_reason = forms.CharField(
        label="Motif de la résiliation",
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Une résiliation doit être motivée."},
        help_text="Il figurera sur la fiche de la convention.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bound_inputs(self.fields["termination_reason"])


class RenewForm(DsfrBaseForm):
    start_date = forms.DateField(label="Date de début de la nouvelle convention", widget=DateInput())
    end_date = forms.DateField(label="Date de fin de la nouvelle convention", widget=DateInput())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            bound_inputs(field)

    @classmethod
    def initial_for(cls, convention):
        """The next period of the same length; nothing suggested when it would leave the calendar (a convention
        stored with an implausible end, such as 31/12/9999, before dates were bounded)."""
        try:
            start = convention.end_date + datetime.timedelta(days=1)
            try:
                end = start.replace(year=start.year + len(convention.years)) - datetime.timedelta(days=1)
            except ValueError:  # 29 February
                end = start.replace(year=start.year + len(convention.years), day=28)
        except (OverflowError, ValueError):
            return {}
        return {"start_date": start, "end_date": end}

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", "La date de fin doit être postérieure à la date de début.")
        return cleaned


class SignatoryForm(DsfrModelForm):
    class Meta:
        model = Signatory
        fields = ["role", "name", "organisation_name", "signed_on"]
        widgets = {"signed_on": DateInput()}
        labels = {"signed_on": "Date de signature"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["signed_on"].required = True

    def clean_signed_on(self):
        signed_on = self.cleaned_data["signed_on"]
        if signed_on > timezone.localdate():
            raise ValidationError("La date de signature ne peut pas être dans le futur.")
        return signed_on


class BaseSignatoryFormSet(BaseFormSet):
    summary_item_label = "Signataire"

    default_error_messages = {
        **BaseFormSet.default_error_messages,
        "too_few_forms": "Indiquez au moins un signataire et sa date de signature.",
    }

    def signatories(self):
        return [
            {key: form.cleaned_data[key] for key in ("role", "name", "organisation_name", "signed_on")}
            for form in self.forms
            if form.cleaned_data and not self._should_delete_form(form)
        ]


SignatoryFormSet = formset_factory(SignatoryForm, formset=BaseSignatoryFormSet, extra=2, min_num=1, validate_min=True)


def validate_pdf(upload):
    """A real PDF of at most 10 Mo: the extension and the first bytes must both say so."""
    if not upload.name.lower().endswith(".pdf"):
        raise ValidationError("Le document doit être un fichier PDF (extension .pdf).", code="not_pdf")
    if upload.size > PDF_MAX_BYTES:
        size = upload.size / (1024 * 1024)
        raise ValidationError(f"Le document fait {size:.1f} Mo : la taille maximale est de 10 Mo.", code="too_large")
    upload.seek(0)
    head = upload.read(5)
    upload.seek(0)
    if head != b"%PDF-":
        raise ValidationError(
            "Ce fichier n'est pas un PDF valide : son contenu ne commence pas comme un PDF.", code="not_pdf_content"
        )


class SignForm(DsfrBaseForm):
    document = forms.FileField(
        label="Convention signée (PDF)",
        help_text="Le document signé, au format PDF, de 10 Mo au plus.",
        validators=[validate_pdf],
        widget=forms.FileInput(attrs={"accept": "application/pdf,.pdf", "class": "fr-upload"}),
        error_messages={"required": "Joignez la convention signée au format PDF."},
    )
    title = forms.CharField(
        label="Titre du document",
        max_length=200,
        required=False,
        help_text="Laissé vide : « Convention », la référence, puis « signée ».",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["document"].widget.group_class = "fr-upload-group"
