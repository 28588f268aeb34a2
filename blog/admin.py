import nested_admin
from django.contrib import admin, messages
from django.db.models import Count
from markdownx.models import MarkdownxField
from markdownx.widgets import AdminMarkdownxWidget

from .models import Article, Audience, Insight, KeyPoint, Section, Tag

MARKDOWN_EDITOR = {MarkdownxField: {"widget": AdminMarkdownxWidget}}


class InsightInline(nested_admin.NestedTabularInline):
    model = Insight
    extra = 0
    sortable_field_name = "position"
    fields = ["position", "audience", "audience_group", "action"]
    autocomplete_fields = ["audience_group"]


class KeyPointInline(nested_admin.NestedTabularInline):
    model = KeyPoint
    extra = 0
    sortable_field_name = "position"
    fields = ["position", "label", "text"]


class SectionInline(nested_admin.NestedStackedInline):
    model = Section
    extra = 0
    sortable_field_name = "position"
    inlines = [InsightInline, KeyPointInline]
    formfield_overrides = MARKDOWN_EDITOR
    prepopulated_fields = {"anchor": ["heading"]}
    fieldsets = [
        (None, {"fields": ["position", "kind", "heading", "anchor", "body"]}),
        (
            "Figure",
            {
                "fields": [
                    "figure_image",
                    "figure_alt_text",
                    "figure_caption",
                    "figure_placement",
                ],
                "classes": ["collapse"],
            },
        ),
    ]


@admin.register(Article)
class ArticleAdmin(nested_admin.NestedModelAdmin):
    list_display = ["title", "status", "published_at", "is_live", "discussion", "updated_at"]
    list_filter = ["status", "discussion", "published_at", "tags"]
    search_fields = ["title", "headline", "slug"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["tags"]
    raw_id_fields = ["author"]
    formfield_overrides = MARKDOWN_EDITOR
    inlines = [SectionInline]
    fieldsets = [
        (None, {"fields": ["kicker", "title", "slug", "headline", "introduction"]}),
        ("Publishing", {"fields": ["status", "published_at", "author", "tags"]}),
        ("Comments", {"fields": ["discussion", "comments_close_at"]}),
    ]
    view_on_site = True

    @admin.display(boolean=True, description="Live")
    def is_live(self, obj):
        return obj.is_visible

    def save_model(self, request, obj, form, change):
        if not obj.author_id:
            obj.author = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        form.instance.refresh_word_count()
        form.instance.refresh_search_index()


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Audience)
class AudienceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "insight_count"]
    # Needed with the count below: Meta.ordering is not applied to aggregating queries.
    ordering = ["name"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    actions = ["merge_audiences"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(insight_count=Count("insights"))

    @admin.display(description="Insights", ordering="insight_count")
    def insight_count(self, obj):
        return obj.insight_count

    @admin.action(
        description="Merge selected audiences into the first", permissions=["change", "delete"]
    )
    def merge_audiences(self, request, queryset):
        others = queryset.count() - 1
        if not others:
            self.message_user(request, "Select two audiences or more to merge.", messages.WARNING)
            return
        kept = queryset.merge()
        self.message_user(
            request,
            f"Merged {others} audience{'s' if others > 1 else ''} into “{kept}”.",
            messages.SUCCESS,
        )
