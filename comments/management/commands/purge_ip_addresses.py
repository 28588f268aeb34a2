from argparse import BooleanOptionalAction

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from comments.privacy import purge_ip_addresses

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Clear the IP address and browser of comments older than COMMENTS_KEEP_IP_DAYS "
        "(or --days). Safe to run from cron: it works in small batches beside the running "
        "site, draws its progress bar only on a terminal, prints one line (none with "
        "--verbosity 0), and a second run finds nothing to do."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Keep the last N days (default: COMMENTS_KEEP_IP_DAYS).",
        )
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument(
            "--progress",
            action=BooleanOptionalAction,
            default=None,
            help="Draw a progress bar on stderr (default: only when stderr is a terminal).",
        )

    def handle(self, *args, days, batch_size, progress, **options):
        if days is None:
            days = settings.COMMENTS_KEEP_IP_DAYS
            if not days:
                self.stdout.write("COMMENTS_KEEP_IP_DAYS is 0: IP addresses are kept.")
                return
        if days < 1:
            raise CommandError("--days must be 1 or more.")
        if batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        if progress is None:
            progress = self.stderr.isatty()
        cleared = purge_ip_addresses(
            days, batch_size=batch_size, progress=self.draw_bar if progress else None
        )
        if progress and cleared:
            self.stderr.write("")
        noun = "comment" if cleared == 1 else "comments"
        if options["verbosity"] >= 1:
            self.stdout.write(
                f"Cleared the IP address and browser of {cleared} {noun} older than {days} days."
            )

    def draw_bar(self, done, total):
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self.stderr.write(f"\r[{bar}] {done}/{total}", ending="")
        self.stderr.flush()
