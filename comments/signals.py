from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from blog.cache import bump_article
from blog.models import Article

from .models import Comment


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
