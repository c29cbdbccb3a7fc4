"""Claims as ProConnect gives them: one scope per claim (email, given_name, usual_name), and a userinfo
answered as a signed JWT (application/jwt) rather than JSON."""

from jwcrypto import jwk, jwt
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings


class ProConnectLikeValidator(OAuth2Validator):
    oidc_claim_scope = {
        **OAuth2Validator.oidc_claim_scope,
        "email": "email",
        "given_name": "given_name",
        "usual_name": "usual_name",
    }

    def get_additional_claims(self, request):
        user = request.user
        return {"email": user.email, "given_name": user.first_name, "usual_name": user.last_name}

    def get_userinfo_claims(self, request):
        claims = super().get_userinfo_claims(request)
        key = jwk.JWK.from_pem(oauth2_settings.OIDC_RSA_PRIVATE_KEY.encode())
        token = jwt.JWT(
            header={"alg": "RS256", "kid": key.thumbprint()},
            claims={**claims, "iss": oauth2_settings.OIDC_ISS_ENDPOINT, "aud": request.client_id},
        )
        token.make_signed_token(key)
        return token.serialize()
