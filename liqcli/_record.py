"""Record classes that cost nothing to define: the result and record types of the report path.

``@record`` is a small stand-in for ``@dataclass(slots=True)`` with the behaviour those types
use: an ``__init__`` taking the fields in order (defaults and ``field(default_factory=...)``
allowed), ``__eq__``, ``__repr__``, ``__match_args__``, and for ``frozen=True`` immutability and
``__hash__``. Why not ``dataclasses``: a one-shot report is a whole process, and importing
``dataclasses`` (it imports ``inspect``, ``ast``, ``dis``, ``tokenize``) plus creating a
dataclass (it compiles several generated methods per class, ≈ 1 ms each) cost more than the
report itself. Here a class costs one ``type()`` call to define; its first instances are made
by a generic ``__init__``, and a class that makes more (:data:`COMPILE_AFTER`) gets its own,
generated and compiled then (the same code a dataclass has, so constructing an instance costs
the same). Equality, hashing and ``repr`` follow the dataclass rules (same class,
fields compared in order).

``dataclasses.fields``, ``replace``, ``asdict`` and ``is_dataclass`` keep working on instances:
``__dataclass_fields__`` is built, with the ``dataclasses`` module, on first access only.
Type checkers see these classes as dataclasses (``typing.dataclass_transform``, for them only).
"""

from __future__ import annotations

from operator import attrgetter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, dataclass_transform

    _T = TypeVar("_T")
    _R = TypeVar("_R")

__all__ = ["field", "record", "replace"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<no default>"


_MISSING: Any = _Missing()


class _Factory:
    """``field(default_factory=...)``: the default of a field, made anew for each instance."""

    __slots__ = ("factory",)

    def __init__(self, factory: Callable[[], Any]) -> None:
        self.factory = factory


def field(*, default: Any = _MISSING, default_factory: Any = _MISSING) -> Any:
    """A field's default (``default=``) or default factory, as ``dataclasses.field``."""
    if default_factory is not _MISSING:
        if default is not _MISSING:
            raise ValueError("cannot specify both default and default_factory")
        return _Factory(default_factory)
    return default


def _frozen_setattr(self: object, name: str, value: object) -> None:
    raise AttributeError(f"cannot assign to field {name!r} of frozen {type(self).__name__}")


def _frozen_delattr(self: object, name: str) -> None:
    raise AttributeError(f"cannot delete field {name!r} of frozen {type(self).__name__}")


def _eq(self: Any, other: Any) -> Any:  # bool, or NotImplemented
    if other.__class__ is not self.__class__:
        return NotImplemented
    key = self.__record_key__
    return key(self) == key(other)


def _hash(self: Any) -> int:
    return hash(self.__record_key__(self))


def _repr(self: Any) -> str:
    inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__record_fields__)
    return f"{type(self).__qualname__}({inner})"


def _reduce(self: Any) -> tuple[Any, ...]:  # pickle and copy: by the constructor
    return (type(self), tuple(getattr(self, name) for name in self.__record_fields__))


# Instances a class makes through the generic __init__ before its own is compiled: a one-shot
# report makes a few of each (compiling ~10 __init__s would cost it ~1 ms), a report over all
# symbols thousands (the compiled one is ~2 x faster).
COMPILE_AFTER = 32
_made: dict[type, int] = {}


def _lazy_init(self: Any, *args: Any, **kwargs: Any) -> None:
    """``__init__`` of a record class until its own is compiled and put in place."""
    cls = type(self)
    made = _made.get(cls, 0)
    if made < COMPILE_AFTER:
        _made[cls] = made + 1
        _generic_init(self, cls, args, kwargs)
        return
    init = _make_init(cls)
    type.__setattr__(cls, "__init__", init)
    init(self, *args, **kwargs)


def _generic_init(self: Any, cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """What the compiled ``__init__`` does (same arguments, defaults and errors), by a loop."""
    names: tuple[str, ...] = cls.__record_fields__
    if len(args) > len(names):
        raise TypeError(f"{cls.__name__}.__init__() takes {len(names) + 1} positional "
                        f"arguments but {len(args) + 1} were given")
    values = dict(zip(names, args, strict=False))
    for name, value in kwargs.items():
        if name in values:
            raise TypeError(f"{cls.__name__}.__init__() got multiple values for argument "
                            f"{name!r}")
        values[name] = value
    if len(values) > len(names) or not values.keys() <= set(names):
        unknown = next(name for name in values if name not in names)
        raise TypeError(f"{cls.__name__}.__init__() got an unexpected keyword argument "
                        f"{unknown!r}")
    defaults: dict[str, Any] = cls.__record_defaults__
    for name in names:
        if name in values:
            value = values[name]
        elif name in defaults:
            value = defaults[name]
            if isinstance(value, _Factory):
                value = value.factory()
        else:
            missing = [n for n in names if n not in values and n not in defaults]
            raise TypeError(f"{cls.__name__}.__init__() missing {len(missing)} required "
                            f"argument(s): {', '.join(map(repr, missing))}")
        object.__setattr__(self, name, value)


def _make_init(cls: Any) -> Callable[..., None]:
    names: tuple[str, ...] = cls.__record_fields__
    defaults: dict[str, Any] = cls.__record_defaults__
    frozen: bool = cls.__record_frozen__
    params, body = [], []
    scope: dict[str, Any] = {"_MISSING": _MISSING}
    for name in names:
        default = defaults.get(name, _MISSING)
        value = name
        if isinstance(default, _Factory):
            scope[f"_f_{name}"] = default.factory
            params.append(f"{name}=_MISSING")
            value = f"_f_{name}() if {name} is _MISSING else {name}"
        elif default is not _MISSING:
            scope[f"_d_{name}"] = default
            params.append(f"{name}=_d_{name}")
        else:
            params.append(name)
        if frozen:  # the slot's own setter: object.__setattr__ costs twice as much
            scope[f"_s_{name}"] = _slot_setter(cls, name)
            body.append(f"_s_{name}(self, {value})")
        else:
            body.append(f"self.{name} = {value}")
    source = (f"def __init__(self, {', '.join(params)}):\n    "
              + ("\n    ".join(body) or "pass") + "\n")
    exec(source, scope)  # source built from the class's own field names
    init: Callable[..., None] = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


class _Probe:
    __slots__ = ("slot",)


_SLOT_TYPE = type(_Probe.__dict__["slot"])  # member_descriptor, without importing types


def _slot_setter(cls: Any, name: str) -> Callable[[Any, Any], None]:
    """``object.__setattr__(self, name, value)`` for the slot ``name`` of ``cls`` (or a
    base): its descriptor's ``__set__``, which skips the attribute lookup."""
    for klass in cls.__mro__:
        found = klass.__dict__.get(name)
        if isinstance(found, _SLOT_TYPE):
            setter: Callable[[Any, Any], None] = found.__set__
            return setter
    return lambda self, value: object.__setattr__(self, name, value)  # pragma: no cover


class _DataclassView:
    """``__dataclass_fields__`` and ``__dataclass_params__`` on first access, those of an
    equivalent dataclass: ``dataclasses.fields/replace/asdict`` work on records, and a
    dataclass may subclass a record."""

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute

    def __get__(self, instance: object, owner: Any) -> Any:
        import dataclasses

        spec: list[tuple[Any, ...]] = []
        for name in owner.__record_fields__:
            default = owner.__record_defaults__.get(name, _MISSING)
            if isinstance(default, _Factory):
                spec.append((name, "Any", dataclasses.field(default_factory=default.factory)))
            elif default is not _MISSING:
                spec.append((name, "Any", dataclasses.field(default=default)))
            else:
                spec.append((name, "Any"))
        twin: Any = dataclasses.make_dataclass(owner.__name__, spec, frozen=owner.__record_frozen__)
        for attribute in ("__dataclass_fields__", "__dataclass_params__"):
            type.__setattr__(owner, attribute, getattr(twin, attribute))
        return getattr(twin, self.attribute)


_DATACLASS_FIELDS = _DataclassView("__dataclass_fields__")
_DATACLASS_PARAMS = _DataclassView("__dataclass_params__")


def _make(cls: type, frozen: bool) -> type:
    namespace = dict(cls.__dict__)
    annotations: dict[str, Any] = namespace.get("__annotations__", {})
    own = [name for name, kind in annotations.items()
           if not (isinstance(kind, str) and kind.startswith(("ClassVar", "typing.ClassVar")))]
    inherited: tuple[str, ...] = ()
    defaults: dict[str, Any] = {}
    for base in cls.__mro__[-1:0:-1]:  # farthest base first, as dataclasses
        if "__record_fields__" in base.__dict__:
            inherited = base.__dict__["__record_fields__"]
            defaults.update(base.__dict__["__record_defaults__"])
    for name in own:
        if name in namespace:
            defaults[name] = namespace.pop(name)
        elif name in defaults and name not in inherited:  # pragma: no cover
            del defaults[name]
    fields = (*inherited, *(name for name in own if name not in inherited))
    seen_default = False
    for name in fields:
        if name in defaults:
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default field {name!r} follows a default one in {cls.__name__}")
    namespace.pop("__dict__", None)
    namespace.pop("__weakref__", None)
    namespace.update(
        __slots__=tuple(name for name in own if name not in inherited),
        __record_fields__=fields,
        __record_defaults__=defaults,
        __record_frozen__=frozen,
        __record_key__=attrgetter(*fields) if fields else (lambda self: ()),
        __match_args__=fields,
        __init__=_lazy_init,
        __eq__=_eq,
        __repr__=_repr,
        __reduce__=_reduce,
        __dataclass_fields__=_DATACLASS_FIELDS,
        __dataclass_params__=_DATACLASS_PARAMS,
    )
    namespace["__hash__"] = _hash if frozen else None  # as dataclass(eq=True)
    if frozen:
        namespace.update(__setattr__=_frozen_setattr, __delattr__=_frozen_delattr)
    made = type(cls)(cls.__name__, cls.__bases__, namespace)
    made.__qualname__ = cls.__qualname__
    return made


if TYPE_CHECKING:

    @dataclass_transform(field_specifiers=(field,))
    def record(*, frozen: bool = False, slots: bool = True) -> Callable[[type[_T]], type[_T]]:
        ...
else:

    def record(*, frozen=False, slots=True):
        """Make the decorated class a record (see the module docstring); ``slots`` is always
        on (the argument is accepted as ``dataclass`` takes it)."""
        if not slots:
            raise ValueError("records always have __slots__")
        return lambda cls: _make(cls, frozen)


def replace(obj: _R, /, **changes: Any) -> _R:
    """A copy of the record ``obj`` with ``changes`` (``dataclasses.replace`` for records)."""
    cls: Any = type(obj)
    names: tuple[str, ...] = cls.__record_fields__
    unknown = changes.keys() - set(names)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {sorted(unknown)[0]!r}")
    # every field positionally (one C call reads them all), the changed ones swapped in
    values = cls.__record_key__(obj) if len(names) > 1 else tuple(
        getattr(obj, name) for name in names)
    made: _R = cls(*[changes.get(name, value)
                     for name, value in zip(names, values, strict=True)])
    return made
