"""Project-wide HTTP middleware."""

from django.utils.cache import patch_cache_control


class NoStoreByDefault:
    """Mark every response that says nothing of caching `Cache-Control: no-store, private`.

    Every page here is personal or carries a secret: an agent's admin page with its CSRF
    token, the admin's password change form, a new API key shown once, a customer's consent
    page with its signed answers, a partner's orders. None may be kept by a browser's cache
    or a proxy. A view that allows caching says so itself (static files are served before
    this, by WhiteNoise).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Cache-Control" not in response:
            patch_cache_control(response, no_store=True, private=True)
        return response
