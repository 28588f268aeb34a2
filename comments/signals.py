from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from blog.cache import bump_article
from blog.models import Article

from .models import Comment, RejectionReason, ThreadSettings


@receiver(post_save, sender=Comment)
def comment_saved(sender, instance, created, **kwargs):
    # A new comment that waits for a moderator changes no page anybody else sees.
    if not created or instance.is_approved:
        bump_article(instance.article.slug)


@receiver(post_delete, sender=Comment)
def comment_deleted(sender, instance, origin=None, **kwargs):
    # Deleting the article drops its pages itself; no need to look it up once per comment.
    if not isinstance(origin, Article):
        bump_article(instance.article.slug)


@receiver(post_delete, sender=ThreadSettings)
def thread_settings_deleted(sender, instance, **kwargs):
    # The article falls back to the site's defaults: open, and the default summary line.
    bump_article(*Article.objects.filter(pk=instance.article_id).values_list("slug", flat=True))


@receiver(post_save, sender=RejectionReason)
def rejection_reason_saved(sender, instance, created, **kwargs):
    # A reason's label, or whether it is shown, appears in the moderation summary line.
    if not created:
        articles = Article.objects.filter(comments__rejection_reason=instance).distinct()
        bump_article(*articles.values_list("slug", flat=True))
