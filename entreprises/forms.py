"""Forms of the companies pages: the company with its establishments and contacts, and the diagnostic."""

from django import forms
from django.db.models import Q
from django.forms import BaseInlineFormSet, inlineformset_factory
from dsfr.forms import DsfrBaseForm
from dsfr.utils import dsfr_input_class_attr
from dsfr.widgets import InlineRadioSelect

from charte.catalogue.models import ActionType
from charte.comptes.models import Organisation
from charte.territoires.models import Commune, Departement
from charte.web import DsfrModelForm, NamedDeleteMixin, bound_inputs

from . import permissions
from .models import ClubMembership, Company, Contact, Diagnostic, DiagnosticItem, Establishment
from .validators import normalize_identifier, validate_siren, validate_siret

COMMUNES_DATALIST_ID = "communes-du-perimetre"
# A datalist is a suggestion list, not a referential browser: beyond this, typing the code is quicker.
COMMUNES_DATALIST_LIMIT = 2000


class CommuneField(forms.ModelChoiceField):
    """A commune typed as its INSEE code (suggested by a datalist), or as "Nom (code)", or by its exact name.

    A select would have to list tens of thousands of communes for the national level; a head office is
    often outside the préfecture's départements (a group's seat in Paris), so any commune of the
    referential is accepted and the territory rule is checked on the whole company instead.
    """

    default_error_messages = {
        "invalid_choice": "Commune inconnue : saisissez son code INSEE (5 caractères, par exemple 34172).",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Commune.objects.select_related("departement"))
        kwargs.setdefault("to_field_name", "code")
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "Commune (code INSEE)")
        kwargs.setdefault("help_text", "Par exemple 34172 pour Montpellier.")
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"list": COMMUNES_DATALIST_ID, "autocomplete": "off", "spellcheck": "false"}),
        )
        super().__init__(**kwargs)

    def to_python(self, value):
        value = (value or "").strip()
        if not value:
            return None
        # "Montpellier (34172)" as pasted from elsewhere in the portal.
        if value.endswith(")") and "(" in value:
            value = value.rsplit("(", 1)[1].rstrip(")").strip()
        if len(value) <= 5 and value[:2].isalnum() and value[2:].isdigit():
            return super().to_python(value.upper())
        matches = list(self.queryset.filter(name__iexact=value)[:2])
        if len(matches) == 1:
            return matches[0]
        raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")


def communes_for_datalist(scope):
    return Commune.objects.filter(departement__in=Departement.objects.visible_to(scope).values("pk")).order_by("name")[
        :COMMUNES_DATALIST_LIMIT
    ]


def _show_commune_code(form):
    """A ModelChoiceField shows the pk of its initial value; people read and type INSEE codes."""
    if form.instance.pk and form.instance.commune_id:
        form.initial["commune"] = form.instance.commune.code


class IdentifierField(forms.CharField):
    """SIREN or SIRET as people type them: spaces and dots are dropped before the model's checks."""

    def __init__(self, *, digits, **kwargs):
        # Room for the spaces of "552 100 554 00013"; the model field's own validators check the digits.
        kwargs.setdefault("max_length", digits + 6)
        super().__init__(**kwargs)

    def to_python(self, value):
        return normalize_identifier(super().to_python(value) or "")


class CompanyForm(DsfrModelForm):
    siren = IdentifierField(
        digits=9,
        label="SIREN",
        help_text="9 chiffres, les espaces sont acceptés (par exemple 552 100 554).",
        error_messages={
            "unique": "Une entreprise portant ce SIREN existe déjà dans le portail : "
            "demandez à la préfecture de vous y rattacher plutôt que de la créer à nouveau."
        },
    )
    commune = CommuneField(label="Commune du siège (code INSEE)")
    # The version the page displayed (charte.concurrency): a save from a stale page is refused.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Company
        fields = [
            "siren",
            "name",
            "legal_form",
            "size",
            "naf_code",
            "address",
            "postcode",
            "commune",
            "labels",
            "is_national_signatory",
        ]
        widgets = {"labels": forms.CheckboxSelectMultiple}

    def __init__(self, *args, scope, **kwargs):
        super().__init__(*args, **kwargs)
        self.scope = scope
        if self.instance.pk is not None:
            self.fields["version"].initial = self.instance.version
        _show_commune_code(self)
        if not permissions.can_edit_siren(scope, self.instance):
            self.fields["siren"].disabled = True
            self.fields["siren"].help_text = "Le SIREN ne se modifie pas après la création de l'entreprise."
        if not permissions.can_change_national_signatory(scope):
            del self.fields["is_national_signatory"]
        self.fields["labels"].required = False
        self.fields["size"].choices = [("", "Non renseignée"), *Company.Size.choices]

    def clean_siren(self):
        if self.fields["siren"].disabled:
            return self.instance.siren
        siren = self.cleaned_data.get("siren") or ""
        validate_siren(siren)
        return siren


class EstablishmentForm(DsfrModelForm):
    siret = IdentifierField(digits=14, label="SIRET", help_text="14 chiffres, commençant par le SIREN de l'entreprise.")
    commune = CommuneField()

    class Meta:
        model = Establishment
        fields = ["siret", "name", "address", "commune", "is_head_office"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _show_commune_code(self)

    def clean_siret(self):
        siret = self.cleaned_data.get("siret") or ""
        validate_siret(siret)
        return siret


class BaseEstablishmentFormSet(NamedDeleteMixin, BaseInlineFormSet):
    """Establishments of one company: each SIRET starts with the company's SIREN, one head office at most."""

    summary_item_label = "Établissement"  # how the error summary names a row
    delete_label = "Retirer cet établissement"

    siren = None  # set by the view once the company form has given a valid SIREN

    def clean(self):
        super().clean()
        head_offices = 0
        for form in self.forms:
            if not form.has_changed() and not form.instance.pk:
                continue
            if self.can_delete and self._should_delete_form(form):
                continue
            data = getattr(form, "cleaned_data", {})
            siret = data.get("siret")
            if siret and self.siren and not siret.startswith(self.siren):
                form.add_error("siret", f"Le SIRET doit commencer par le SIREN de l'entreprise ({self.siren}).")
            if data.get("is_head_office"):
                head_offices += 1
        if head_offices > 1:
            raise forms.ValidationError("Un seul établissement peut être le siège.")


EstablishmentFormSet = inlineformset_factory(
    Company,
    Establishment,
    form=EstablishmentForm,
    formset=BaseEstablishmentFormSet,
    extra=1,
    can_delete=True,
)


class ContactForm(DsfrModelForm):
    class Meta:
        model = Contact
        fields = ["first_name", "last_name", "job_title", "email", "phone", "is_main"]


class BaseContactFormSet(NamedDeleteMixin, BaseInlineFormSet):
    summary_item_label = "Contact"
    delete_label = "Retirer ce contact"

    def clean(self):
        super().clean()
        mains = sum(
            1
            for form in self.forms
            if getattr(form, "cleaned_data", {}).get("is_main") and not (self.can_delete and self._should_delete_form(form))
        )
        if mains > 1:
            raise forms.ValidationError("Un seul contact peut être le contact principal.")


ContactFormSet = inlineformset_factory(Company, Contact, form=ContactForm, formset=BaseContactFormSet, extra=1, can_delete=True)


class DiagnosticForm(DsfrModelForm):
    """The diagnostic and, per action type of the catalogue, what the company does or wants to do."""

    class Meta:
        model = Diagnostic
        fields = ["date", "club", "comment"]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "comment": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {"comment": "Commentaire général"}

    def __init__(self, *args, scope, action_types, **kwargs):
        super().__init__(*args, **kwargs)
        self.scope = scope
        if scope.is_club:
            # A club records its own diagnostics: the club is not a choice.
            del self.fields["club"]
        else:
            self.fields["club"].queryset = Organisation.objects.clubs_visible_to(scope).order_by("name")
            self.fields["club"].empty_label = "Aucun club"
        self.action_types = list(action_types)
        existing = {}
        if self.instance.pk:
            existing = {item.action_type_id: item for item in self.instance.items.all()}
        for action_type in self.action_types:
            item = existing.get(action_type.pk)
            status = forms.ChoiceField(
                label=action_type.label,
                choices=DiagnosticItem.Status.choices,
                required=False,
                widget=InlineRadioSelect,
                initial=item.status if item else None,
            )
            comment = forms.CharField(
                label=f"Commentaire : {action_type.label}",
                max_length=500,
                required=False,
                initial=item.comment if item else "",
            )
            self.fields[self.status_name(action_type)] = status
            self.fields[self.comment_name(action_type)] = comment
            dsfr_input_class_attr(self[self.status_name(action_type)])
            dsfr_input_class_attr(self[self.comment_name(action_type)])

    @staticmethod
    def status_name(action_type):
        return f"statut_{action_type.pk}"

    @staticmethod
    def comment_name(action_type):
        return f"commentaire_{action_type.pk}"

    def clean(self):
        cleaned = super().clean()
        for action_type in self.action_types:
            if cleaned.get(self.comment_name(action_type)) and not cleaned.get(self.status_name(action_type)):
                self.add_error(self.status_name(action_type), "Indiquez la situation de l'entreprise pour ce commentaire.")
        return cleaned

    def families(self):
        """Rows grouped by family, in catalogue order, for the template."""
        groups = []
        for action_type in self.action_types:
            if not groups or groups[-1][0] != action_type.family:
                groups.append((action_type.family, []))
            groups[-1][1].append((self[self.status_name(action_type)], self[self.comment_name(action_type)]))
        return groups

    def answers(self):
        """{action type: (status, comment)} for the service; an unanswered type is no line at all."""
        data = self.cleaned_data
        return {at: (data.get(self.status_name(at)), data.get(self.comment_name(at))) for at in self.action_types}


def catalogue_for(diagnostic=None):
    """Active action types, plus retired ones a diagnostic already answered (so editing keeps them)."""
    qs = ActionType.objects.select_related("family").order_by("family__position", "family__code", "label")
    active = Q(is_active=True, family__is_active=True)
    if diagnostic is not None and diagnostic.pk:
        return qs.filter(active | Q(pk__in=diagnostic.items.values("action_type_id")))
    return qs.filter(active)


# --- club members -----------------------------------------------------------------------------------------


class _DsfrForm(DsfrBaseForm):
    """A plain form with the DSFR field groups and the portal's date bounds (charte.web.bound_inputs)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            bound_inputs(field)


def _date_field(label, required=True, help_text=""):
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "Indiquez la date.", "invalid": "Saisissez une date valide (jj/mm/aaaa)."},
    )


def siren_candidates(scope, club):
    """Companies a SIREN typed on the club's page may designate: those the person sees and, for the club
    itself, any company with its head office or an establishment in the club's départements (a company the
    club recruits is not yet its member, so not yet visible to it)."""
    visible = Company.objects.visible_to(scope)
    if not scope.is_club:
        return visible
    local = Company.objects.in_departements(club.departements.values("pk"))
    return Company.objects.filter(Q(pk__in=visible.values("pk")) | Q(pk__in=local.values("pk")))


class ClubMemberAddForm(_DsfrForm):
    company = forms.ModelChoiceField(
        label="Entreprise",
        queryset=Company.objects.none(),
        required=False,
        empty_label="Choisir une entreprise",
        help_text="Les entreprises de votre périmètre qui ne sont pas membres du club aujourd'hui.",
    )
    siren = forms.CharField(
        label="Ou son SIREN",
        required=False,
        max_length=15,
        help_text="9 chiffres, pour une entreprise de l'un des départements du club qui n'est pas dans la liste.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}),
    )
    start_date = _date_field("Adhésion le")
    end_date = _date_field("Fin le", required=False, help_text="Facultatif : laissez vide pour une adhésion en cours.")

    def __init__(self, *args, scope, club, **kwargs):
        super().__init__(*args, **kwargs)
        self.scope, self.club = scope, club
        current = ClubMembership.objects.current().filter(club=club).values("company_id")
        self.fields["company"].queryset = (
            Company.objects.visible_to(scope).exclude(pk__in=current).only("pk", "name", "siren").order_by("name")
        )
        self.fields["company"].label_from_instance = lambda company: f"{company.name} ({company.siren})"

    def clean_siren(self):
        value = normalize_identifier(self.cleaned_data.get("siren") or "")
        if value and (len(value) != 9 or not value.isdigit()):
            raise forms.ValidationError("Un SIREN compte 9 chiffres.")
        return value

    def clean(self):
        cleaned = super().clean()
        company, siren = cleaned.get("company"), cleaned.get("siren")
        if "siren" in self.errors or "company" in self.errors:
            return cleaned
        if company and siren and company.siren != siren:
            self.add_error("siren", "Choisissez l'entreprise dans la liste ou saisissez son SIREN, pas les deux.")
        elif not company and not siren:
            self.add_error("company", "Choisissez l'entreprise qui adhère au club, ou saisissez son SIREN.")
        elif siren and not company:
            found = siren_candidates(self.scope, self.club).filter(siren=siren).first()
            if found is None:
                self.add_error(
                    "siren",
                    "Aucune entreprise de ce SIREN dans les départements du club : créez-la d'abord "
                    "(« Ajouter une entreprise ») ou demandez-le à la préfecture.",
                )
            else:
                cleaned["company"] = found
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", "La fin de l'adhésion doit suivre son début.")
        return cleaned


class ClubMemberEndForm(_DsfrForm):
    end_date = _date_field("Fin de l'adhésion le", help_text="Le dernier jour où l'entreprise est membre du club.")

    def __init__(self, *args, membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.membership = membership

    def clean_end_date(self):
        end = self.cleaned_data["end_date"]
        if end < self.membership.start_date:
            raise forms.ValidationError(f"La fin de l'adhésion doit suivre son début ({self.membership.start_date:%d/%m/%Y}).")
        return end
