"""Sala: the training and event system of CLGBT (Cambodia LGBT Legal Support)."""

from starlette.convertors import IntegerConvertor, register_url_convertor


class _DatabaseId(IntegerConvertor):
    """``{id:int}`` in every route matches at most nine digits: a longer number can name no
    row, and would overflow the database driver (a 500) instead of being a plain 404."""

    regex = "[0-9]{1,9}"


# Before any route is built: routes compile their patterns when they are created.
register_url_convertor("int", _DatabaseId())
