from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from blog.importing import import_article

DEMO_ARTICLE = Path(__file__).resolve().parents[2] / "demo" / "japan-nato-defense-spending-2025.md"


class Command(BaseCommand):
    help = "Load the demo article and a staff account to edit it with. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="editor")
        parser.add_argument("--password", required=True)

    def handle(self, username, password, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password(password)
            user.first_name, user.last_name = "Demo", "Editor"
            user.save()
        article, _ = import_article(DEMO_ARTICLE, author=user)
        self.stdout.write(f"Demo article: {article.get_absolute_url()}")
        if created:
            self.stdout.write(f"Created staff account {username!r}")
