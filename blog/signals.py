from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from .cache import bump_article
from .models import Article, Insight, KeyPoint, Section


@receiver(post_save, sender=Article)
@receiver(post_delete, sender=Article)
def article_changed(sender, instance, **kwargs):
    # A renamed slug leaves a page behind under the old one; drop both.
    bump_article(instance.slug, getattr(instance, "loaded_slug", instance.slug))


@receiver(m2m_changed, sender=Article.tags.through)
def article_tags_changed(sender, instance, **kwargs):
    if isinstance(instance, Article):
        bump_article(instance.slug)
    else:
        bump_article(*Article.objects.filter(tags=instance).values_list("slug", flat=True))


@receiver(post_save, sender=Section)
@receiver(post_delete, sender=Section)
def section_changed(sender, instance, **kwargs):
    bump_article(*Article.objects.filter(pk=instance.article_id).values_list("slug", flat=True))


@receiver(post_save, sender=Insight)
@receiver(post_delete, sender=Insight)
@receiver(post_save, sender=KeyPoint)
@receiver(post_delete, sender=KeyPoint)
def section_part_changed(sender, instance, **kwargs):
    slugs = Article.objects.filter(sections=instance.section_id).values_list("slug", flat=True)
    bump_article(*slugs)
