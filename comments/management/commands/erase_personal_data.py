from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from comments.privacy import comments_of, erase_personal_data


class Command(BaseCommand):
    help = (
        "Erase the personal data of an email address: each of its comments loses its name, "
        "address, website, text, IP address and browser, keeping its place in the thread; its "
        "confirmation for notices is forgotten. Asks first unless --yes is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--yes", action="store_true", help="Erase without asking.")

    def handle(self, *args, email, yes, **options):
        try:
            validate_email(email.strip())
        except ValidationError as error:
            raise CommandError(f"Not an email address: {email!r}") from error
        count = comments_of(email).count()
        if not yes:
            answer = input(
                f"Erase the personal data of {email} from {count} comment(s)? "
                "This cannot be undone. Type 'yes' to go on: "
            )
            if answer.strip().lower() != "yes":
                raise CommandError("Nothing erased.")
        erased = erase_personal_data(email)
        self.stdout.write(f"Erased the personal data of {email} from {erased} comment(s).")
