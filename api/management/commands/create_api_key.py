"""Create a partner API key and print it once (only its hash is stored)."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from api.models import PartnerKey, Scope
from inventory.models import Channel


def _csv(value: str) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))


class Command(BaseCommand):
    help = ("Create a partner API key bound to channels and scopes; the key is printed once, "
            "alone on the last line.")

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who the key is for, e.g. 'Shopify US connector'.")
        parser.add_argument("--channels", default="",
                            help="Comma-separated channel codes, e.g. shopify-us,amazon-us.")
        parser.add_argument("--scopes", required=True,
                            help=f"Comma-separated scopes ('all' for every one): {', '.join(Scope.values)}.")
        parser.add_argument("--expires-in-days", type=int, default=None,
                            help="Expire the key after this many days (default: never).")

    def handle(self, *args, name, channels, scopes, expires_in_days, **options):
        name = name.strip()
        if not name or len(name) > 50:
            raise CommandError("NAME must be 1 to 50 characters.")
        scope_list = list(Scope.values) if scopes.strip() == "all" else _csv(scopes)
        unknown = [s for s in scope_list if s not in Scope.values]
        if unknown or not scope_list:
            raise CommandError(
                f"Unknown scope(s): {', '.join(unknown) or '(none given)'}. "
                f"Use any of: {', '.join(Scope.values)} (or 'all').")
        codes = _csv(channels)
        found = {c.code: c for c in Channel.objects.filter(code__in=codes)}
        missing = [c for c in codes if c not in found]
        if missing:
            known = ", ".join(Channel.objects.values_list("code", flat=True)) or "(none yet)"
            raise CommandError(f"Unknown channel(s): {', '.join(missing)}. Known: {known}.")
        channel_scoped = {Scope.ORDERS_READ, Scope.ORDERS_WRITE, Scope.PROMISES_READ}
        if not codes and channel_scoped & set(scope_list):
            self.stderr.write(self.style.WARNING(
                "No --channels: this key will see no orders, promise changes or exceptions."))
        if expires_in_days is not None and expires_in_days < 1:
            raise CommandError("--expires-in-days must be 1 or more.")

        with transaction.atomic():
            key_obj, key = PartnerKey.objects.create_key(
                name=name, scopes=scope_list,
                expiry_date=(timezone.now() + timedelta(days=expires_in_days)
                             if expires_in_days else None))
            key_obj.channels.set(found.values())
        expiry = f"expires {key_obj.expiry_date:%Y-%m-%d %H:%M} UTC" if key_obj.expiry_date else "never expires"
        self.stdout.write(
            f"Created API key {key_obj.prefix!r} for {name!r}: channels "
            f"{', '.join(codes) or '(none)'}; scopes {', '.join(scope_list)}; {expiry}.\n"
            "Store it now: it is shown only this once. Send it as 'Authorization: Api-Key <key>'.")
        self.stdout.write(key)
