"""Signing in and out, and refreshing the access token.

API clients send and receive the refresh token in JSON. Browsers ask for a cookie
session (header ``X-Recoup-Session: cookie``): the refresh token then lives only in
an HttpOnly, SameSite=Strict cookie scoped to this path, where no script can read
it; refreshing with that cookie needs the same header, which a cross-site form
cannot send, and a same-origin ``Origin`` when the browser sends one. Beside it, a cookie
that holds no secret (``recoup_signed_in=1``, readable by the pages, for the same time)
tells the sign-in page and the app frame whether there is a session to refresh at all, so
that a visitor who never signed in costs no refused request.
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urlsplit

import msgspec
import structlog
from litestar import Controller, Request, Response, post
from litestar.datastructures import Cookie
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT
from redis.exceptions import RedisError

from domain.actor import Actor
from domain.auth.schemas import Credentials, RefreshRequest
from domain.auth.tokens import API_KEY_PREFIX
from domain.errors import Forbidden, RecoupError, Unauthenticated
from server.auth.ratelimit import client_address
from server.observability import request_id_of
from server.problems import recoup_error
from server.resources import Resources

log = structlog.get_logger("recoup.auth")

AUTH_PATH = "/api/v1/auth"
REFRESH_COOKIE = "recoup_refresh"
SIGNED_IN_COOKIE = "recoup_signed_in"
SESSION_HEADER = "x-recoup-session"


class AccessToken(msgspec.Struct, kw_only=True):
    """Tokens for the caller; a browser session gets its refresh token as a cookie instead."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_token: str | msgspec.UnsetType = msgspec.UNSET


def _resources(request: Request[Any, Any, Any]) -> Resources:
    return request.app.state.resources


def _wants_cookie(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get(SESSION_HEADER, "").lower() == "cookie"


def _check_same_origin(request: Request[Any, Any, Any]) -> None:
    """The browser's ``Origin``, when it sends one, must be this server as the request
    reached it (scheme and host) or as the public URL names it (behind a proxy)."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    public = urlsplit(_resources(request).settings.base_url)
    ours = {
        f"{request.url.scheme}://{request.headers.get('host', '')}".lower(),
        f"{public.scheme}://{public.netloc}".lower(),
    }
    if origin.lower() not in ours:
        raise Forbidden("cross-origin requests may not use the session cookie")


def _cookies(request: Request[Any, Any, Any], refresh: str, max_age: int) -> list[Cookie]:
    """The session's cookies: the refresh token (HttpOnly, for the auth routes only) and
    the hint that a session exists (for the pages' scripts); with ``max_age`` 0, gone."""
    secure = _resources(request).settings.cookie_secure
    return [
        Cookie(
            key=REFRESH_COOKIE,
            value=refresh,
            path=AUTH_PATH,
            httponly=True,
            secure=secure,
            samesite="strict",
            max_age=max_age,
        ),
        Cookie(
            key=SIGNED_IN_COOKIE,
            value="1" if max_age else "",
            path="/",
            secure=secure,
            samesite="strict",
            max_age=max_age,
        ),
    ]


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]
    opt = {"exclude_from_auth": True}

    @post(
        "/login",
        status_code=HTTP_200_OK,
        summary="Sign in with e-mail and password",
        opt={"problems": (401, 429)},
    )
    async def login(
        self, request: Request[Any, Any, Any], data: JSONBody[Credentials]
    ) -> Response[AccessToken]:
        resources = _resources(request)
        try:
            await resources.limiter.attempt(data.email, client_address(request))
        except RedisError as exc:  # signing in goes on without the limit; said once an outage
            if resources.outages.noted(exc) is None:
                log.warning("login rate limit unavailable", error=str(exc))
        tokens = await resources.auth.login(
            data.email, data.password, request_id=request_id_of(request.scope)
        )
        try:
            await resources.limiter.succeeded(data.email)
        except RedisError as exc:  # signing in goes on without the limit; said once an outage
            if resources.outages.noted(exc) is None:
                log.warning("login rate limit unavailable", error=str(exc))
        if _wants_cookie(request) and (replaced := request.cookies.get(REFRESH_COOKIE)):
            # Signing in again in this browser ends the sign-in whose cookie is replaced.
            await resources.auth.logout(replaced)
        return self._tokens(request, tokens.access_token, tokens.refresh_token, tokens.expires_in)

    @post(
        "/refresh",
        status_code=HTTP_200_OK,
        summary="Trade a refresh token for new tokens",
        opt={"problems": (401, 403)},
    )
    async def refresh(
        self, request: Request[Any, Any, Any], data: JSONBody[RefreshRequest | None] = None
    ) -> Response[Any]:
        token = data.refresh_token if data and data.refresh_token else None
        from_cookie = False
        if token is None:
            token = request.cookies.get(REFRESH_COOKIE)
            from_cookie = token is not None
        if token is None:
            raise Unauthenticated("send refresh_token in the body, or the session cookie")
        if from_cookie:
            if not _wants_cookie(request):
                raise Forbidden(
                    f"refreshing with the session cookie needs the {SESSION_HEADER} header"
                )
            _check_same_origin(request)
        try:
            tokens = await _resources(request).auth.refresh(token)
        except RecoupError as exc:
            if not from_cookie:
                raise
            refused = recoup_error(request, exc)
            refused.cookies = _cookies(request, "", 0)  # the browser's session is over
            return refused
        return self._tokens(request, tokens.access_token, tokens.refresh_token, tokens.expires_in)

    @post(
        "/logout",
        status_code=HTTP_204_NO_CONTENT,
        summary="Sign out: revoke this sign-in",
        # The access token, when sent, is signed out too.
        opt={"problems": (403,), "bearer_optional": True},
    )
    async def logout(
        self, request: Request[Any, Any, Any], data: JSONBody[RefreshRequest | None] = None
    ) -> Response[None]:
        resources = _resources(request)
        sent = data.refresh_token if data and data.refresh_token else None
        cookie = request.cookies.get(REFRESH_COOKIE)
        # The browser's session ends only on its own page's word (the session header, from
        # this origin): a token in the body signs out that token alone, and leaves the
        # cookies of whatever browser the request came from as they are.
        ends_cookie = bool(cookie) and (sent is None or _wants_cookie(request))
        if ends_cookie:
            if not _wants_cookie(request):
                raise Forbidden(
                    f"signing out with the session cookie needs the {SESSION_HEADER} header"
                )
            _check_same_origin(request)
        for token in {t for t in (sent, cookie if ends_cookie else None) if t}:
            await resources.auth.logout(token)
        scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and bearer and not bearer.startswith(API_KEY_PREFIX):
            # The access token's own sign-in ends too (a client may send no refresh token).
            with contextlib.suppress(Unauthenticated):
                claims = resources.access_tokens.check(bearer.strip())
                await resources.auth.end_sign_in(
                    Actor(
                        tenant_id=claims.tid,
                        type="user",
                        id=claims.user_id,
                        role=claims.role,
                        session=claims.session(),
                    )
                )
        response: Response[None] = Response(None, status_code=HTTP_204_NO_CONTENT)
        if ends_cookie or (not cookie and _wants_cookie(request)):
            response.cookies = _cookies(request, "", 0)
        return response

    @staticmethod
    def _tokens(
        request: Request[Any, Any, Any], access: str, refresh: str, expires_in: int
    ) -> Response[AccessToken]:
        headers = {"Cache-Control": "no-store"}
        if _wants_cookie(request):
            ttl = _resources(request).settings.refresh_token_ttl
            return Response(
                AccessToken(access_token=access, expires_in=expires_in),
                headers=headers,
                cookies=_cookies(request, refresh, ttl),
            )
        return Response(
            AccessToken(access_token=access, refresh_token=refresh, expires_in=expires_in),
            headers=headers,
        )
