"""A partner key's change drops its cached record (api.auth.key_record) at once."""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from api.auth import key_record_forget
from api.models import PartnerKey


@receiver(post_save, sender=PartnerKey)
@receiver(post_delete, sender=PartnerKey)
def partner_key_changed(sender, instance, **kwargs):
    key_record_forget(instance.prefix)


@receiver(m2m_changed, sender=PartnerKey.channels.through)
def partner_key_channels_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if not reverse:  # a key's channels changed
        if action in ("post_add", "post_remove", "post_clear"):
            key_record_forget(instance.prefix)
        return
    # A channel's keys changed from the channel's side (before a clear: the keys it had).
    if action in ("post_add", "post_remove"):
        keys = PartnerKey.objects.filter(pk__in=pk_set)
    elif action == "pre_clear":
        keys = instance.partner_keys.all()
    else:
        return
    for prefix in keys.values_list("prefix", flat=True):
        key_record_forget(prefix)
