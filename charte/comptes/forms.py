from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm
from dsfr.forms import DsfrBaseForm


class EmailAuthenticationForm(DsfrBaseForm, AuthenticationForm):
    """Sign-in by e-mail. The field keeps Django's name `username` (django-axes reads it)."""

    username = forms.EmailField(
        label="Adresse électronique",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    password = forms.CharField(
        label="Mot de passe", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    error_messages = {
        "invalid_login": "Adresse électronique ou mot de passe incorrect.",
        "inactive": "Ce compte est désactivé.",
    }

    def clean_username(self):
        return self.cleaned_data["username"].strip().lower()


class DsfrPasswordResetForm(DsfrBaseForm, PasswordResetForm):
    email = forms.EmailField(
        label="Adresse électronique", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class DsfrSetPasswordForm(DsfrBaseForm, SetPasswordForm):
    pass


class InvitationForm(DsfrBaseForm):
    """Whom to invite, and as what. The e-mail is checked against the organisation by the service."""

    email = forms.EmailField(
        label="Adresse électronique",
        max_length=254,
        help_text="L'invitation est envoyée à cette adresse ; la personne se connectera avec elle.",
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    first_name = forms.CharField(label="Prénom", max_length=150, required=False)
    last_name = forms.CharField(label="Nom", max_length=150, required=False)
    role = forms.ChoiceField(
        label="Rôle",
        choices=[
            ("admin", "Administrateur : gère les membres, les invitations et les clés d'API de l'organisation"),
            ("member", "Membre"),
        ],
        initial="member",
        widget=forms.RadioSelect,
    )

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class AcceptInvitationForm(DsfrBaseForm):
    """The invited person's name and password: the account is created with the invitation's e-mail."""

    first_name = forms.CharField(label="Prénom", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    last_name = forms.CharField(label="Nom", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "family-name"}))
    password1 = forms.CharField(
        label="Mot de passe",
        strip=False,
        help_text="Au moins 10 caractères, ni trop courant, ni proche de votre nom ou de votre adresse.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Confirmation du mot de passe", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args, email, **kwargs):
        self.email = email
        super().__init__(*args, **kwargs)

    def clean(self):
        from django.contrib.auth import password_validation

        from .models import User

        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "Les deux mots de passe ne sont pas identiques.")
        elif password1:
            candidate = User(email=self.email, first_name=cleaned.get("first_name", ""), last_name=cleaned.get("last_name", ""))
            try:
                password_validation.validate_password(password1, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned
