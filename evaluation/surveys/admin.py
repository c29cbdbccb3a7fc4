"""Admin of the 360° surveys: for support and checks. The portal's pages do the work (creating surveys, links,
moderation); here the national level edits the questionnaire models, and the scoped staff read surveys and
responses and moderate open answers. Follow-up addresses have no admin: nobody reads them, they only serve
the follow-up e-mails (and are erased after the last one)."""

from django.contrib import admin

from charte.comptes.admin_scoping import (
    ReferentialAdminMixin,
    ReferentialInlineMixin,
    ScopedAdminMixin,
    ScopedInlineMixin,
    request_scope,
)

from ..admin import ReadOnlyAdmin
from . import services
from .models import Answer, Moderation, Question, QuestionnaireModel, Response, Survey, SurveyToken


class NationalQuestionInline(ReferentialInlineMixin, admin.TabularInline):
    model = Question
    extra = 0
    fields = ["position", "text", "kind", "indicator", "is_active"]

    def get_queryset(self, request):
        # The questions clubs added belong to them: they are managed on their own admin page.
        return super().get_queryset(request).filter(club__isnull=True)


@admin.register(QuestionnaireModel)
class QuestionnaireModelAdmin(ReferentialAdminMixin, admin.ModelAdmin):
    list_display = ["title", "code", "respondent_group", "waves", "is_active"]
    list_filter = ["respondent_group", "is_active"]
    search_fields = ["title", "code"]
    filter_horizontal = ["action_types"]
    inlines = [NationalQuestionInline]


@admin.register(Question)
class QuestionAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["text", "questionnaire", "kind", "indicator", "club", "is_active"]
    list_filter = ["kind", "indicator", "is_active"]
    list_select_related = ["questionnaire", "club"]
    search_fields = ["text", "questionnaire__title"]
    autocomplete_fields = ["club"]

    def may_write(self, request, obj):
        # A national question is the catalogue's (national); a club's question is that club's.
        scope = request_scope(request)
        if obj.club_id is None:
            return scope.is_national
        return scope.is_national or (scope.is_club and obj.club_id == scope.organisation_id)


class SurveyTokenInline(ScopedInlineMixin, admin.TabularInline):
    model = SurveyToken
    extra = 0
    fields = ["created_at", "used_at"]
    readonly_fields = ["created_at", "used_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Survey)
class SurveyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["questionnaire", "wave_months", "action", "created_at", "closes_at"]
    list_filter = ["wave_months", "questionnaire"]
    list_select_related = ["questionnaire", "action"]
    search_fields = ["action__title", "questionnaire__title"]
    raw_id_fields = ["action"]
    readonly_fields = ["public_key", "created_by", "created_at"]
    inlines = [SurveyTokenInline]

    def has_add_permission(self, request):
        # Created from the action's page, which offers only the models of its action type.
        return False


class AnswerInline(ScopedInlineMixin, admin.TabularInline):
    model = Answer
    extra = 0
    fields = ["question", "choice", "text", "moderation"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk__in=Answer.objects.visible_to(request_scope(request)).values("pk"))


@admin.register(Response)
class ResponseAdmin(ScopedAdminMixin, ReadOnlyAdmin):
    list_display = ["__str__", "survey", "submitted_at"]
    list_select_related = ["survey__questionnaire", "survey__action"]
    search_fields = ["survey__action__title"]
    date_hierarchy = "submitted_at"
    exclude = ["token"]
    inlines = [AnswerInline]


@admin.register(Answer)
class AnswerAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["question", "choice", "text", "moderation", "moderated_at"]
    list_filter = ["moderation", "question__kind"]
    list_select_related = ["question"]
    search_fields = ["text"]
    fields = ["response", "question", "choice", "text", "moderation", "moderated_by", "moderated_at"]
    readonly_fields = ["response", "question", "choice", "text", "moderated_by", "moderated_at"]

    def has_add_permission(self, request):
        return False

    def may_write(self, request, obj):
        # Only the moderation changes here, by those who moderate (the club of the action, its préfecture).
        return Answer.objects.moderable_by(request_scope(request)).filter(pk=obj.pk).exists()

    def save_model(self, request, obj, form, change):
        if "moderation" in form.changed_data and obj.moderation != Moderation.PENDING:
            services.moderate(obj, obj.moderation, request.user)
        else:
            super().save_model(request, obj, form, change)
