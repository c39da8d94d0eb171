"""A debtor's contact details over REST: their numbers, e-mail addresses and addresses."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from domain.debtors.contact_schemas import Contact, ContactCreate, ContactUpdate
from domain.debtors.contacts import ContactService
from domain.pagination import Page
from server.auth.guards import EVERYONE, WORKERS, allow
from server.controllers.deps import service
from server.controllers.params import DEFAULT_LIMIT, Cursor, Limit, PathId


class DebtorContactController(Controller):
    path = "/debtors/{debtor_id:int}/contacts"
    tags = ["debtors"]
    dependencies = {"contacts": service(ContactService)}

    @get(
        "/",
        opt=allow(*EVERYONE, scope="debtors:read"),
        summary="A debtor's phone numbers, e-mail addresses and addresses, preferred first",
    )
    async def list_contacts(
        self,
        contacts: NamedDependency[ContactService],
        debtor_id: PathId,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[Contact]:
        return contacts.paged(await contacts.list(debtor_id), cursor, limit)

    @post(
        "/",
        opt=allow(*WORKERS, scope="debtors:write"),
        summary="Add a phone number (kept in E.164), e-mail address or address",
    )
    async def add_contact(
        self,
        contacts: NamedDependency[ContactService],
        debtor_id: PathId,
        data: JSONBody[ContactCreate],
    ) -> Contact:
        return await contacts.create(debtor_id, data)

    @patch(
        "/{contact_id:int}",
        opt=allow(*WORKERS, scope="debtors:write"),
        summary="Change a contact: its value, type, consent, or make it the preferred one",
    )
    async def change_contact(
        self,
        contacts: NamedDependency[ContactService],
        debtor_id: PathId,
        contact_id: PathId,
        data: JSONBody[ContactUpdate],
    ) -> Contact:
        return await contacts.update(debtor_id, contact_id, data)

    @delete(
        "/{contact_id:int}",
        opt=allow(*WORKERS, scope="debtors:write"),
        status_code=HTTP_204_NO_CONTENT,
        summary="Remove a contact (not the preferred one while others of its kind remain)",
    )
    async def remove_contact(
        self, contacts: NamedDependency[ContactService], debtor_id: PathId, contact_id: PathId
    ) -> None:
        await contacts.delete(debtor_id, contact_id)
