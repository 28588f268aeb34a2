from django.core.management.base import BaseCommand, CommandError

from blog.importing import ArticleFormatError, import_article


class Command(BaseCommand):
    help = "Create or update an article from a Markdown file with TOML front matter."

    def add_arguments(self, parser):
        parser.add_argument("path", help="The article file; see blog/importing.py for its format.")

    def handle(self, path, **options):
        try:
            article, created = import_article(path)
        except FileNotFoundError:
            raise CommandError(f"{path}: no such file") from None
        except ArticleFormatError as error:
            raise CommandError(f"{path}, {error}") from None
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} “{article.title}” at {article.get_absolute_url()}")
