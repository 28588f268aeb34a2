from django import template

from ..models import Comment

register = template.Library()


@register.inclusion_tag("admin/comments/_pending_notice.html", takes_context=True)
def pending_comments_notice(context):
    """Show how many comments wait in the moderation queue, to those who may see it."""
    if not context["request"].user.has_perm("comments.view_comment"):
        return {"show": False}
    return {"show": True, "count": Comment.objects.pending().count()}
