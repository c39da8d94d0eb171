"""Custom field definitions of debtors and accounts: everyone who reads accounts reads them
(the screens label the values with them, integrators learn what to send); admins add,
change and remove them. A change that stored values would not satisfy is refused (409,
with their count)."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter

from domain.custom_fields.schemas import CustomField, CustomFieldCreate, CustomFieldUpdate
from domain.custom_fields.service import CustomFieldService
from domain.pagination import Page
from server.auth.guards import ADMINS, EVERYONE, allow
from server.controllers.deps import service
from server.controllers.params import DEFAULT_LIMIT, Cursor, Limit, PathId

EntityFilter = Annotated[
    Literal["debtor", "account"] | None,
    Parameter(description="Only the fields of debtors, or of accounts"),
]

READ = allow(*EVERYONE, scope="accounts:read")


class CustomFieldController(Controller):
    path = "/custom-fields"
    tags = ["custom fields"]
    dependencies = {"fields": service(CustomFieldService)}

    @get("/", opt=READ, summary="The tenant's custom field definitions, by entity and position")
    async def list_fields(
        self,
        fields: NamedDependency[CustomFieldService],
        entity: EntityFilter = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[CustomField]:
        return await fields.list(entity=entity, cursor=cursor, limit=limit)

    @post(
        "/",
        opt=allow(*ADMINS),
        summary="Define a custom field (409 if its entity has the key already)",
    )
    async def create_field(
        self, fields: NamedDependency[CustomFieldService], data: JSONBody[CustomFieldCreate]
    ) -> CustomField:
        return await fields.create(data)

    @get("/{field_id:int}", opt=READ, summary="One custom field definition")
    async def get_field(
        self, fields: NamedDependency[CustomFieldService], field_id: PathId
    ) -> CustomField:
        return await fields.get(field_id)

    @patch(
        "/{field_id:int}",
        opt=allow(*ADMINS),
        summary="Change a custom field; 409 with the count of stored values it would refuse",
    )
    async def update_field(
        self,
        fields: NamedDependency[CustomFieldService],
        field_id: PathId,
        data: JSONBody[CustomFieldUpdate],
    ) -> CustomField:
        return await fields.update(field_id, data)

    @delete(
        "/{field_id:int}",
        status_code=204,
        opt=allow(*ADMINS),
        summary="Remove a definition (stored values stay)",
    )
    async def delete_field(
        self, fields: NamedDependency[CustomFieldService], field_id: PathId
    ) -> None:
        await fields.delete(field_id)
