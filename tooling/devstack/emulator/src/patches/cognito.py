# Cognito: user pools, federated users and managed login.


def _user_pool_calls_one_at_a_time():
    """moto finds a user of a pool whose users sign in by email by walking
    every user, and makes one by adding it to the same dict; its server
    answers each call on a thread of its own, so a sign-up beside a
    sign-in stopped the walk ("dictionary changed size during iteration",
    a 500 that failed a person's sign-in under the test command's load).
    Cognito answers each call whole; here the pools' calls take turns, the
    local cloud's own (the federated sign-in's) among them. Applied after
    every other change to the pools, so that it holds theirs too."""
    # changes: cognito-idp:AdminDeleteUser cognito-idp:ListUsers cognito-idp:AdminLinkProviderForUser
    from moto.cognitoidp import models, responses

    lock = threading.RLock()
    # The backend's calls from CloudFormation too, as a stack makes a pool.
    calls = [
        name
        for name, value in vars(models.CognitoIdpBackend).items()
        if not name.startswith("__") and callable(value)
    ]
    _take_turns(lock, models.CognitoIdpBackend, calls)
    _take_turns(lock, responses.CognitoIdpResponse, ("call_action",))


def _federated_users():
    """Cognito's users from an outside identity provider, which moto does
    not have. `AdminLinkProviderForUser` as Cognito documents it (the
    link is kept in the destination user's `identities` attribute, which
    Cognito shows for linked users too), and three calls of the local
    cloud's own for its managed login (the front that plays
    `/oauth2/idpresponse`), never reachable by a function (the judge
    knows no such action): `DevstackFederatedUser` finds (and with
    `Create`, makes) the user an IdP's subject signs in as, and
    `DevstackSignIn` (`_managed_login_tokens`) issues its tokens. A
    federated user reads `EXTERNAL_PROVIDER` as its status, as on AWS,
    while moto's own checks see it confirmed; its ID token carries
    `identities`."""
    # changes: cognito-idp:AdminLinkProviderForUser cognito-idp:ListUsers
    import time

    from moto.cognitoidp import models, responses
    from moto.cognitoidp.exceptions import InvalidParameterException, UserNotFoundError

    class FederatedUser(models.CognitoIdpUser):
        # moto's models find their service by their module's name.
        __module__ = models.__name__

        def _base_json(self):
            answer = super()._base_json()
            answer["UserStatus"] = "EXTERNAL_PROVIDER"
            return answer

    def identities(user):
        return json.loads(user.attribute_lookup.get("identities", "[]"))

    def linked(pool, provider, subject):
        for user in pool.users.values():
            if any(
                i.get("providerName") == provider and i.get("userId") == subject
                for i in identities(user)
            ):
                return user
        return None

    def identity(provider, subject):
        return {
            "userId": subject,
            "providerName": provider,
            "providerType": "OIDC",
            "issuer": None,
            "primary": "false",
            "dateCreated": str(int(time.time() * 1000)),
        }

    def link(self):
        pool = self.backend.describe_user_pool(self._get_param("UserPoolId"))
        destination = self._get_param("DestinationUser") or {}
        source = self._get_param("SourceUser") or {}
        provider = source.get("ProviderName")
        subject = source.get("ProviderAttributeValue")
        if not provider or not subject:
            raise InvalidParameterException("SourceUser needs ProviderName and ProviderAttributeValue")
        user = pool._get_user(destination.get("ProviderAttributeValue") or "")
        if not user:
            raise UserNotFoundError("User does not exist.")
        if f"{provider}_{subject}" in pool.users or linked(pool, provider, subject):
            raise InvalidParameterException(
                "Merging is not currently supported, provide a SourceUser that does not exist in the user pool"
            )
        if len(identities(user)) >= 5:
            raise InvalidParameterException("A user may have at most 5 linked identities")
        value = json.dumps(identities(user) + [identity(provider, subject)])
        user.update_attributes([{"Name": "identities", "Value": value}])
        return json.dumps({})

    def federated_user(self):
        pool = self.backend.describe_user_pool(self._get_param("UserPoolId"))
        provider = self._get_param("ProviderName")
        subject = self._get_param("Subject")
        attributes = self._get_param("Attributes") or []
        user = linked(pool, provider, subject)
        created = False
        if user is None:
            user = pool.users.get(f"{provider}_{subject}")
            if user is None and not self._get_param("Create"):
                raise UserNotFoundError("User does not exist.")
            if user is None:
                user = FederatedUser(
                    pool.id,
                    f"{provider}_{subject}",
                    None,
                    models.UserStatus.CONFIRMED,
                    [{"Name": "identities", "Value": json.dumps([identity(provider, subject)])}],
                )
                pool.users[user.username] = user
                created = True
            # A federated user's mapped attributes are rewritten at every
            # sign-in; a linked user keeps its own.
            user.update_attributes(attributes)
        return json.dumps(
            {"Username": user.username, "Created": created, "Linked": not isinstance(user, FederatedUser)}
        )

    extra_data = models.CognitoIdpUserPool.get_user_extra_data_by_client_id

    def with_identities(self, client_id, username):
        data = extra_data(self, client_id, username)
        user = self._get_user(username)
        if user is not None and "identities" in user.attribute_lookup:
            data["identities"] = identities(user)
        if isinstance(user, FederatedUser):
            # moto names a user of an email pool by its email in the token;
            # a federated user is named `<provider>_<subject>`, as on AWS.
            data["cognito:username"] = user.username
            data["email"] = user.attribute_lookup.get("email", "")
        return data

    models.CognitoIdpUserPool.get_user_extra_data_by_client_id = with_identities
    responses.CognitoIdpResponse.admin_link_provider_for_user = link
    responses.CognitoIdpResponse.devstack_federated_user = federated_user


def _managed_login_tokens():
    """What Cognito's tokens carry and moto's do not, and the revocation
    moto lacks. An access token carries the scopes its sign-in granted
    (moto writes `aws.cognito.signin.user.admin` into every one), and so
    do the access tokens a refresh issues from it; the ID token of a
    managed-login sign-in carries the authorization request's `nonce`.
    `DevstackSignIn`, the local cloud's own call for its managed login
    (no function can reach it: the judge knows no such action), signs a
    user in with those. `RevokeToken` revokes a refresh token and every
    access token issued from it (the same `origin_jti`), so a later
    refresh and the pool's own checks (GetUser) refuse them; a JWT library
    still accepts a revoked token until it expires, as on AWS. A JWT is
    not a refresh token (`UnsupportedTokenTypeException`), a client that
    did not enable revocation cannot revoke (`UnsupportedOperationException`),
    and another client's token is not the caller's to revoke
    (`UnauthorizedException`); an unknown token is revoked already.
    `DevstackIssuer` names the address the local cloud serves the pool's
    discovery document and keys at, which its tokens' `iss` then is, so a
    client that starts from discovery checks them as it would Cognito's.
    The user-pool API's calls made with an access token need its
    `aws.cognito.signin.user.admin` scope, as Cognito's do, and managed
    login's userInfo (`DevstackUserInfo`, for the front) needs `openid`."""
    import base64

    from moto.cognitoidp import models, responses
    from moto.cognitoidp.exceptions import NotAuthorizedError, ResourceNotFoundError, UserNotFoundError
    from moto.core.exceptions import JsonRESTError

    ADMIN = "aws.cognito.signin.user.admin"

    def error(kind, message):
        return JsonRESTError(kind, message)

    def grants(pool):
        return pool.__dict__.setdefault("devstack_grants", {})

    def revoked(pool):
        return pool.__dict__.setdefault("devstack_revoked", set())

    def create_access_token(self, client_id, username, origin_jti):
        grant = grants(self).get(origin_jti, {})
        extra = {"origin_jti": origin_jti, "scope": grant.get("scope", ADMIN)}
        user = self._get_user(username)
        if user.groups:
            extra["cognito:groups"] = [group.group_name for group in user.groups]
        token, expires_in = self.create_jwt(client_id, username, "access", extra_data=extra)
        self.access_tokens[token] = (client_id, username)
        return token, expires_in

    def create_id_token(self, client_id, username, origin_jti):
        extra = self.get_user_extra_data_by_client_id(client_id, username)
        extra["origin_jti"] = origin_jti
        user = self._get_user(username)
        for attribute in user.attributes:
            if attribute["Name"].startswith("custom:"):
                extra[attribute["Name"]] = attribute["Value"]
        if user.groups:
            extra["cognito:groups"] = [group.group_name for group in user.groups]
        # The sign-in's ID token only: a refresh's names no request.
        nonce = grants(self).get(origin_jti, {}).pop("nonce", None)
        if nonce is not None:
            extra["nonce"] = nonce
        token, expires_in = self.create_jwt(client_id, username, "id", extra_data=extra)
        self.id_tokens[token] = (client_id, username)
        return token, expires_in

    def sign_in(self):
        pool = self.backend.describe_user_pool(self._get_param("UserPoolId"))
        client = pool.clients.get(self._get_param("ClientId"))
        user = pool.users.get(self._get_param("Username"))
        if client is None or user is None or not user.enabled:
            raise UserNotFoundError("User does not exist.")
        # moto keys a sign-in by the name it was made with, the email for a
        # pool whose users sign in by email: a linked user's is the same key
        # as its password sign-in's, so a GlobalSignOut ends both.
        email = user.attribute_lookup.get("email")
        login = user.username if type(user).__name__ == "FederatedUser" or not email else email
        refresh_token, origin_jti = pool.create_refresh_token(client.id, login)
        scopes = self._get_param("Scopes")
        if scopes is not None:
            grant = {"scope": " ".join(scopes)}
            if self._get_param("Nonce"):
                grant["nonce"] = self._get_param("Nonce")
            grants(pool)[origin_jti] = grant
        access_token, id_token, expires_in = pool.create_tokens_from_refresh_token(refresh_token)
        result = {
            "IdToken": id_token,
            "AccessToken": access_token,
            "RefreshToken": refresh_token,
            "ExpiresIn": expires_in,
            "TokenType": "Bearer",
        }
        return json.dumps({"ChallengeParameters": {}, "AuthenticationResult": result})

    def claims_of(jwt):
        # Unverified: only for a token the pool itself holds or is asked of.
        try:
            payload = jwt.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            return claims if isinstance(claims, dict) else {}
        except (IndexError, ValueError, AttributeError):
            return {}

    def revoke_token(self):
        token = self._get_param("Token") or ""
        client_id = self._get_param("ClientId") or ""
        pool = next((p for p in self.backend.user_pools.values() if client_id in p.clients), None)
        if pool is None:
            raise ResourceNotFoundError(f"Client {client_id} does not exist.")
        if not pool.clients[client_id].extended_config.get("EnableTokenRevocation", True):
            raise error("UnsupportedOperationException", "Token revocation is not enabled for this client.")
        if token.count(".") == 2:
            raise error("UnsupportedTokenTypeException", "Only a refresh token can be revoked.")
        issued = pool.refresh_tokens.get(token)
        if issued is None:
            return json.dumps({})
        issued_to, _, origin_jti = issued
        if issued_to != client_id:
            raise error("UnauthorizedException", "The token was not issued to this client.")
        pool.refresh_tokens[token] = None
        for access in [a for a in pool.access_tokens if claims_of(a).get("origin_jti") == origin_jti]:
            del pool.access_tokens[access]
            revoked(pool).add(access)
        return json.dumps({})

    def issuer(self):
        # The issuer the local cloud serves the pool's discovery document
        # and keys at: set once per cloud, as its front's address is its own.
        pool = self.backend.describe_user_pool(self._get_param("UserPoolId"))
        pool.devstack_issuer = self._get_param("Issuer")
        return json.dumps({})

    create_jwt = models.CognitoIdpUserPool.create_jwt

    def create_jwt_at_its_issuer(self, client_id, username, token_use, expires_in=60 * 60, extra_data=None):
        served_at = getattr(self, "devstack_issuer", None)
        extra = dict(extra_data or {})
        if served_at:
            extra["iss"] = served_at
        return create_jwt(self, client_id, username, token_use, expires_in, extra)

    def scopes_of(access_token):
        return str(claims_of(access_token).get("scope", "")).split()

    def with_the_api_scope(method):
        def checked(self):
            token = self._get_param("AccessToken")
            if token and ADMIN not in scopes_of(token):
                raise NotAuthorizedError("Access Token does not have required scopes")
            return method(self)

        return checked

    def user_info(self):
        # managed login's userInfo, for the local cloud's front: a token
        # the pool issued, not revoked, granted `openid`.
        token = self._get_param("AccessToken") or ""
        if "openid" not in scopes_of(token):
            raise NotAuthorizedError("Access Token does not have required scopes")
        user = self._get_region_agnostic_backend().get_user(access_token=token)
        return json.dumps(user.to_json(extended=True, attributes_key="UserAttributes"), default=str)

    get_user = models.CognitoIdpBackend.get_user

    def get_user_unless_revoked(self, access_token):
        if any(access_token in revoked(pool) for pool in self.user_pools.values()):
            raise NotAuthorizedError("Access Token has been revoked")
        return get_user(self, access_token)

    models.CognitoIdpUserPool.create_jwt = create_jwt_at_its_issuer
    models.CognitoIdpUserPool.create_access_token = create_access_token
    models.CognitoIdpUserPool.create_id_token = create_id_token
    models.CognitoIdpBackend.get_user = get_user_unless_revoked
    responses.CognitoIdpResponse.devstack_sign_in = sign_in
    responses.CognitoIdpResponse.revoke_token = revoke_token
    responses.CognitoIdpResponse.devstack_issuer = issuer
    responses.CognitoIdpResponse.devstack_user_info = user_info
    # The user-pool API's calls a user makes with an access token.
    for name in (
        "get_user",
        "global_sign_out",
        "update_user_attributes",
        "delete_user",
        "delete_user_attributes",
        "change_password",
        "verify_user_attribute",
        "get_user_attribute_verification_code",
        "set_user_mfa_preference",
        "set_user_settings",
        "associate_software_token",
        "verify_software_token",
    ):
        if hasattr(responses.CognitoIdpResponse, name):
            setattr(responses.CognitoIdpResponse, name, with_the_api_scope(getattr(responses.CognitoIdpResponse, name)))


def _confirmation_verifies_the_email():
    """A sign-up confirmed with the code Cognito sent verifies the address
    it was sent to, where the pool auto-verifies email
    (`AutoVerifiedAttributes`); moto leaves `email_verified` unset. An
    administrator's AdminConfirmSignUp verifies nothing, on AWS as here."""
    from moto.cognitoidp import models

    confirm = models.CognitoIdpBackend.confirm_sign_up

    def confirm_sign_up(self, client_id, username):
        answer = confirm(self, client_id, username)
        for pool in self.user_pools.values():
            user = pool._get_user(username) if client_id in pool.clients else None
            verified = pool.extended_config.get("AutoVerifiedAttributes", [])
            if user is not None and "email" in verified and "email" in user.attribute_lookup:
                user.update_attributes([{"Name": "email_verified", "Value": "true"}])
        return answer

    models.CognitoIdpBackend.confirm_sign_up = confirm_sign_up
