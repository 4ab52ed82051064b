"""Factories for partner API keys."""

import factory
from factory.django import DjangoModelFactory

from api.models import PartnerKey, Scope


class PartnerKeyFactory(DjangoModelFactory):
    """Build a key; the plain key is on `obj.plain_key` (only the hash is stored)."""

    class Meta:
        model = PartnerKey
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Partner {n}")
    scopes = factory.LazyFunction(lambda: list(Scope.values))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        obj, key = model_class.objects.create_key(**kwargs)
        obj.plain_key = key
        return obj

    @factory.post_generation
    def channels(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.channels.set(extracted)
