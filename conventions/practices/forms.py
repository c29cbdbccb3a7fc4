"""The forms of the practice sheets. Every choice list comes from the models' `visible_to(scope)`: what the
author may use, never more (a value posted by hand outside it is refused like any invalid choice)."""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from dsfr.forms import DsfrBaseForm

from charte import uploads
from charte.catalogue.models import ActionType, Family
from charte.comptes.models import Organisation
from charte.territoires.models import QPV, Departement
from charte.web import Checklist, DsfrModelForm, checklist_options
from conventions.models import Action
from entreprises.models import Company

from .models import PracticeAttachment, PracticePublic, PracticeSheet

# Actions offered as checkboxes: the most recent of the chosen département (plus those already ticked); the
# choice itself accepts any action in scope.
ACTIONS_SHOWN = 100

IMAGE_TYPES = ("png", "jpg", "jpeg")
DOCUMENT_TYPES = ("pdf", "docx", "odt", "xlsx", "ods")
ATTACHMENT_LABEL = "PDF, DOCX, ODT, XLSX, ODS, PNG ou JPEG"


class PracticeSheetForm(DsfrModelForm):
    companies = forms.ModelMultipleChoiceField(
        Company.objects.none(),
        required=False,
        widget=Checklist(),
        label="Entreprises citées",
        help_text="Chaque entreprise citée donne son accord avant la publication.",
    )

    class Meta:
        model = PracticeSheet
        fields = [
            "title",
            "family",
            "action_types",
            "departement",
            "qpvs",
            "period_start",
            "period_end",
            "problem",
            "what_was_done",
            "actors",
            "clubs",
            "companies",
            "partners",
            "publics",
            "means",
            "actions",
            "results_text",
            "success_factors",
            "difficulties",
            "how_to_reproduce",
            "contact_name",
            "contact_email",
            "reproduces",
            "public",
        ]
        widgets = {
            name: forms.Textarea(attrs={"rows": 4})
            for name in (
                "problem",
                "what_was_done",
                "actors",
                "partners",
                "means",
                "results_text",
                "success_factors",
                "difficulties",
                "how_to_reproduce",
            )
        } | {name: Checklist() for name in ("action_types", "qpvs", "clubs", "publics", "actions")}
        error_messages = {
            "title": {"required": "Donnez un titre à la fiche."},
            "problem": {"required": "Décrivez le besoin ou le problème auquel la pratique répond."},
            "what_was_done": {"required": "Décrivez ce qui a été fait."},
            "family": {"required": "Choisissez la famille d'actions."},
            "period_start": {"required": "Indiquez l'année de début.", "invalid": "Saisissez une année, par exemple 2018."},
            "period_end": {"invalid": "Saisissez une année, par exemple 2020."},
            "contact_email": {"invalid": "Saisissez une adresse électronique valide, par exemple nom@exemple.fr."},
        }

    def __init__(self, *args, scope, **kwargs):
        super().__init__(*args, **kwargs)
        self.scope = scope
        fields = self.fields
        fields["family"].queryset = Family.objects.filter(is_active=True)
        fields["action_types"].queryset = ActionType.objects.filter(is_active=True).select_related("family")
        fields["departement"].queryset = Departement.objects.visible_to(scope).select_related(None).order_by("code")
        fields["departement"].required = not scope.is_national
        fields["departement"].error_messages["required"] = "Choisissez le département : sa préfecture relira la fiche."
        fields["qpvs"].queryset = QPV.objects.visible_to(scope).select_related("departement")
        fields["clubs"].queryset = Organisation.objects.clubs_visible_to(scope)
        fields["companies"].queryset = Company.objects.visible_to(scope).only("pk", "name", "siren").order_by("name")
        fields["publics"].queryset = PracticePublic.objects.all()
        fields["actions"].queryset = Action.objects.visible_to(scope)
        fields["reproduces"].queryset = PracticeSheet.objects.visible_to(scope).published().exclude(pk=self.instance.pk)
        fields["reproduces"].empty_label = "Aucune"
        if self.instance.pk and not self.is_bound:
            self.initial["companies"] = list(self.instance.named_companies.values_list("company_id", flat=True))
        if not self.instance.pk and not self.is_bound and not self.initial.get("departement"):
            only = list(fields["departement"].queryset.values_list("pk", flat=True)[:2])
            if len(only) == 1:
                self.initial["departement"] = only[0]

    def clean(self):
        cleaned = super().clean()
        departement = cleaned.get("departement")
        qpvs = cleaned.get("qpvs")
        if qpvs and departement is not None:
            foreign = [q.name for q in qpvs if q.departement_id != departement.pk]
            if foreign:
                self.add_error("qpvs", f"Ces QPV ne sont pas dans le département choisi : {', '.join(foreign)}.")
        family, types = cleaned.get("family"), cleaned.get("action_types")
        if family is not None and types:
            other = [t.label for t in types if t.family_id != family.pk]
            if other:
                self.add_error("action_types", f"Ces types d'actions ne sont pas de la famille choisie : {', '.join(other)}.")
        return cleaned

    # --- the checkbox lists (rendered by templates/actions/includes/checklist.html) ---------------------

    def _chosen_departement_id(self):
        value = self["departement"].value()
        value = getattr(value, "pk", value)
        return int(value) if str(value or "").isdigit() else None

    def _ticked(self, name):
        return [int(pk) for pk in self._selected(name) if str(pk).isdigit()]

    def _selected(self, name):
        if self.is_bound:
            return self.data.getlist(self.add_prefix(name))
        values = self.initial.get(name) or []
        if not values and self.instance.pk and name != "companies":
            values = [obj.pk for obj in getattr(self.instance, name).all()]
        return [getattr(v, "pk", v) for v in values]

    def _near(self, queryset, name, departement_field="departement_id"):
        """Rows of the chosen département (or all for a territory of a few départements), plus those ticked."""
        departement_id = self._chosen_departement_id()
        if departement_id is None and not self.scope.is_national:
            return queryset
        return queryset.filter(Q(**{departement_field: departement_id}) | Q(pk__in=self._ticked(name)))

    def company_options(self):
        return checklist_options(self["companies"], self.fields["companies"].queryset, lambda c: f"{c.name} (SIREN {c.siren})")

    def qpv_options(self):
        qpvs = self._near(self.fields["qpvs"].queryset, "qpvs").order_by("departement__code", "-generation", "name")
        return checklist_options(self["qpvs"], qpvs, lambda q: f"{q.name} ({q.code}, {q.generation})")

    def action_options(self):
        actions = self.fields["actions"].queryset.select_related("departement").order_by("-start_date", "-pk")
        departement_id = self._chosen_departement_id()
        if departement_id is not None:
            actions = actions.filter(departement_id=departement_id)
        recent = list(actions.values_list("pk", flat=True)[:ACTIONS_SHOWN])
        shown = self.fields["actions"].queryset.filter(Q(pk__in=recent) | Q(pk__in=self._ticked("actions")))
        shown = shown.order_by("-start_date", "-pk")
        return checklist_options(
            self["actions"], shown, lambda a: f"{a.title} ({a.start_date:%d/%m/%Y}, {a.beneficiaries_total} bénéficiaires)"
        )

    def type_options(self):
        types = self.fields["action_types"].queryset.order_by("family__position", "label")
        return checklist_options(self["action_types"], types, lambda t: f"{t.label} ({t.family.short_label})")

    def club_options(self):
        return checklist_options(self["clubs"], self.fields["clubs"].queryset, str)

    def public_options(self):
        return checklist_options(self["publics"], self.fields["publics"].queryset, str)

    def m2m(self):
        return {name: self.cleaned_data[name] for name in ("action_types", "qpvs", "clubs", "publics", "actions")}


class ReviewForm(DsfrBaseForm):
    comment = forms.CharField(
        label="Commentaire aux auteurs",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        help_text="Obligatoire pour renvoyer la fiche : ce qu'il faut changer.",
    )


class ConsentForm(DsfrBaseForm):
    comment = forms.CharField(
        label="Commentaire",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text="Obligatoire en cas de refus : les auteurs le liront.",
    )


class AttachmentForm(DsfrBaseForm):
    file = forms.FileField(
        label="Fichier",
        help_text=f"{ATTACHMENT_LABEL} ; 10 Mo au plus.",
        error_messages={"required": "Choisissez le fichier à joindre."},
        widget=forms.FileInput(attrs={"accept": ",".join(f".{ext}" for ext in (*DOCUMENT_TYPES, *IMAGE_TYPES))}),
    )
    title = forms.CharField(label="Titre", max_length=200, error_messages={"required": "Donnez un titre à la pièce jointe."})
    alt_text = forms.CharField(
        label="Texte alternatif (pour une image)",
        max_length=300,
        required=False,
        help_text="Ce que montre l'image, lu par les lecteurs d'écran. Obligatoire pour une image.",
    )

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is None:
            return cleaned
        try:
            self.content_type = uploads.check_file(upload, (*DOCUMENT_TYPES, *IMAGE_TYPES), ATTACHMENT_LABEL)
        except ValidationError as error:
            self.add_error("file", error.message_dict["file"])
            return cleaned
        self.kind = PracticeAttachment.Kind.IMAGE if self.content_type.startswith("image/") else PracticeAttachment.Kind.DOCUMENT
        if self.kind == PracticeAttachment.Kind.IMAGE and not cleaned.get("alt_text", "").strip():
            self.add_error("alt_text", "Décrivez l'image en quelques mots : les personnes qui ne la voient pas la liront.")
        return cleaned
