import nested_admin
from django.contrib import admin
from markdownx.models import MarkdownxField
from markdownx.widgets import AdminMarkdownxWidget

from .models import Article, Insight, KeyPoint, Section, Tag

MARKDOWN_EDITOR = {MarkdownxField: {"widget": AdminMarkdownxWidget}}


class InsightInline(nested_admin.NestedTabularInline):
    model = Insight
    extra = 0
    sortable_field_name = "position"
    fields = ["position", "audience", "action"]


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


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
