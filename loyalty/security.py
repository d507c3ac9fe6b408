"""Browser-facing protections: security headers on every response, Secure cookies over HTTPS."""

from __future__ import annotations

from flask import Flask, Response, has_request_context, request

# The pages load only their own CSS and scripts (htmx, configured in layout.html not to inject
# its indicator <style> nor evaluate code), so nothing inline is allowed.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HSTS = "max-age=31536000"


class SecureCookieResponse(Response):
    """Cookies set while answering an HTTPS request (directly, or per X-Forwarded-Proto from a
    proxy trusted through PROXY_FIX_HOPS) are Secure, whatever SESSION_COOKIE_SECURE says."""

    def set_cookie(self, key: str, *args, **kwargs) -> None:
        if has_request_context() and request.is_secure:
            kwargs["secure"] = True
        super().set_cookie(key, *args, **kwargs)


def init_app(app: Flask) -> None:
    app.response_class = SecureCookieResponse

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
