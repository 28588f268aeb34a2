import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from comments.privacy import export_personal_data


class Command(BaseCommand):
    help = (
        "Print as JSON everything stored for an email address: its comments with their IP "
        "addresses and browsers, and whether it confirmed notices. Matching ignores case."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email, **options):
        try:
            validate_email(email.strip())
        except ValidationError as error:
            raise CommandError(f"Not an email address: {email!r}") from error
        data = export_personal_data(email)
        self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
