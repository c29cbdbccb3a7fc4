"""Project-wide response headers that depend on who asked."""


class NoStoreForSignedInMiddleware:
    """`Cache-Control: private, no-store` on every response to a signed-in person or an API key: what the
    portal shows them is scoped to their organisation and must not stay in a shared cache, nor in the
    browser's history cache once they have signed out on a shared computer.

    DRF puts the user of an API key on the underlying request too, so API answers are covered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response["Cache-Control"] = "private, no-store"
        return response
