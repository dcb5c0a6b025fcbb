"""Writes on users and their group roles."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.db import transaction

from portal.models import User
from portal.roles import GROUP_ROLES, Role, forget_roles


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str | None,
    first_name: str = "",
    last_name: str = "",
    email_verified: bool = False,
    preferred_language: str = "fr",
) -> User:
    """Create an account and its primary e-mail address, verified or not.

    Accounts created here (operators, the demo, tests) skip sign-up; those that people create
    themselves go through allauth, which sends the verification e-mail.
    """
    user = User.objects.create_user(
        email=email,
        password=password,
        first_name=first_name,
        last_name=last_name,
        preferred_language=preferred_language,
    )
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=email_verified)
    return user


def _group_for(role: Role) -> Group:
    if role not in GROUP_ROLES:
        raise ValueError(f"{role} n'est pas un rôle attribué par groupe.")
    group, _ = Group.objects.get_or_create(name=role.value)
    return group


def user_grant_group_role(*, user: User, role: Role) -> None:
    """Make ``user`` a regional administrator or an auditor."""
    user.groups.add(_group_for(role))
    forget_roles(user)


def user_revoke_group_role(*, user: User, role: Role) -> None:
    user.groups.remove(_group_for(role))
    forget_roles(user)
