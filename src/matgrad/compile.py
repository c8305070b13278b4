"""`compile`: a derived gradient as a fast function of arrays.

`compile(L, wrt, backend)` derives the gradients once, generates one straight-line
function computing the value and every gradient with each common subexpression computed
once (see `codegen`), and wraps it so that it takes values the way `evaluate` does (by
name; a vector as shape (n,) or (n, 1); a scalar as a float) and returns
(value, {name: gradient}) with scalars as floats (0-d arrays on other backends), vectors
1-D and matrices 2-D.

With the "numpy" backend the arrays may be NumPy, Dask, PyTorch or CuPy arrays: the
generated code is array-API code, and the results stay in the arrays' own library
(lazy, for Dask). "jax" returns a `jax.jit`-compiled function; "torch" works on tensors
on any device.

Calls are cheap to repeat: the shapes of plain arrays, once checked, are remembered, so
a later call with arrays of the same shapes goes straight to the generated code. With
NumPy, `out=` writes large gradients into arrays the caller keeps (see `__call__`).
"""
from __future__ import annotations

import numpy as np

from .codegen import backends, build, derive
from .codegen.tensor_source import is_tensor
from .codegen.load import load
from .dims import SCALAR, Dim, DimProduct, concrete, fmt_shape, settle
from .errors import DomainError, MatgradError, ShapeError
from .expr import Expr
from .structure import of as structure_of
from .structure import require as require_structure
from .values import refuse_unusable

_MAX_SPECIALISED = 16


class CompiledFunction:
    """A compiled value-and-gradients function; call it with a dict of values.

    `source` is the generated code; `variables` the names it takes, in order.
    """

    def __init__(self, L: Expr, wrt=None, backend: str = "numpy", *, definitions=None,
                 sizes: dict | None = None, name: str | None = None):
        self.backend = backend
        self._backend = backends.find(backend)
        self._L, self._wrt, self._definitions, self._name = L, wrt, definitions, name
        self._sizes, self._sizes_given = sizes, sizes is not None
        # derived once: a specialisation to other sizes only lowers and prints again
        self._derived = None if is_tensor(L) else derive(L, wrt, definitions=definitions)
        generated = build(L, wrt, backend, definitions=definitions, name=name, sizes=sizes,
                          derived=self._derived)
        self._generated = generated
        self.variables = [v.params[0] for v in generated.arguments]
        self.gradient_names = list(generated.grad_names)
        self._vars = generated.arguments
        self._value_shape = generated.value_shape
        self._grad_shapes = {v.params[0]: v.shape for v in generated.arguments}
        self._programs: dict = {(None, ()): self._runner(generated)}
        # shapes of plain inputs already checked -> (layouts, sizes, program)
        self._checked: dict = {}
        self._plain = self._backend.array_type()

    @property
    def source(self) -> str:
        """The generated Python source (for the sizes given at compile time, if any)."""
        return self._generated.source

    def __repr__(self) -> str:
        return (f"<matgrad compiled {self._generated.name}({', '.join(self.variables)}) "
                f"backend={self.backend}>")

    # ---- calling --------------------------------------------------------------------
    def __call__(self, values: dict, sizes: dict | None = None, *, out: dict | None = None):
        """(value, {name: gradient}) at the given values.

        `out` (numpy backend, NumPy arrays only) maps gradient names to arrays of the
        gradient's shape and dtype that receive the gradient in place, and come back as
        `grads[name]`: a training loop that passes the same arrays on every call never
        allocates (nor page-faults in) a fresh large gradient. Only arrays passed in
        `out` are written; one that shares memory with an input is refused.

        >>> import numpy as np, matgrad as mg
        >>> x = mg.vector("x", 3)
        >>> f = mg.compile(mg.sum(mg.exp(x)), wrt=[x])
        >>> kept = np.empty(3)
        >>> value, grads = f({"x": np.zeros(3)}, out={"x": kept})
        >>> grads["x"] is kept, kept
        (True, array([1., 1., 1.]))
        """
        if out is None and sizes is None:
            checked = self._checked.get(_fast_key(values, self.variables, self._plain))
            if checked is not None:  # plain arrays of shapes already checked
                layouts, bound, run = checked
                args = [_fast_layout(values[n], s) for n, s in zip(self.variables, layouts)]
                self._check_structures(args)
                return self._invoke(run, args, bound)
        # under jit, the layouts are part of the compiled function
        args, bound = self.bind(values, sizes, layout=not self._backend.jit)
        if out is not None:
            buffers = self._buffers(out, args, bound)
            run = self._program(bound, tuple(sorted(buffers)))
            value, grads = self._invoke(run, args, bound, buffers)
            grads.update((k, out[k]) for k in buffers)  # the caller's arrays, as given
            return value, grads
        run = self._program(bound)
        result = self._invoke(run, args, bound)
        if sizes is None:
            self._remember(values, args, bound, run)
        return result

    def _invoke(self, run, args, bound, buffers=None):
        try:
            return run(args, bound, buffers)
        except OverflowError:  # a size to a large power, in Python floats
            raise DomainError(f"{self._generated.name}: a number beyond the range of "
                              "floating-point numbers (a size to a large power?)") from None
        except ZeroDivisionError:  # Python numbers (sizes, constants), not arrays
            raise DomainError(f"{self._generated.name}: division by zero in a number "
                              "computed from sizes or constants") from None
        except Exception as err:  # a singular matrix, in whichever library raised it
            if "LinAlgError" in type(err).__name__ or "singular" in str(err).lower():
                raise DomainError(f"{self._generated.name}: {err}") from None
            raise

    def _remember(self, values, args, bound, run) -> None:
        """Note checked shapes of plain inputs (float arrays of the backend's own
        library, and Python floats for NumPy), so that the next call with the same
        shapes skips conversion and checks, and only reshapes vectors."""
        key = _fast_key(values, self.variables, self._plain)
        if key is None:
            return
        layouts = tuple(None if type(values[n]) is float else
                        (a.shape if a.shape != values[n].shape else False)
                        for n, a in zip(self.variables, args))
        if len(self._checked) >= _MAX_SPECIALISED:
            self._checked.clear()
        self._checked[key] = (layouts, bound, run)

    def _program(self, bound: dict, into: tuple = ()):
        specialise = self._generated.sizes_matter and not self._sizes_given
        # product chains were ordered with estimated sizes: specialise to the real ones
        key = (tuple(sorted((d.name, s) for d, s in bound.items())) if specialise else None,
               into)
        run = self._programs.get(key)
        if run is None:
            generated = build(self._L, self._wrt, self.backend,
                              definitions=self._definitions, name=self._name,
                              sizes=bound if specialise else self._sizes, into=into,
                              derived=self._derived)
            run = self._runner(generated)
            if len(self._programs) > _MAX_SPECIALISED:
                self._programs = {(None, ()): self._programs[(None, ())]}
            self._programs[key] = run
        return run

    def _runner(self, generated):
        fn = load(generated.source, generated.name)
        params = generated.size_parameters
        keywords = generated.buffer_parameters
        value_shape, grad_shapes = self._value_shape, self._grad_shapes
        floats = self._backend.python_floats
        if self._backend.jit:
            import jax

            variables = self._vars

            def shaped(*args, **kw):  # layouts inside jit: no eager dispatch per call
                value, grads = fn(*(_as_declared(v, a) for v, a in zip(variables, args)), **kw)
                return (_user_shape(value, value_shape, floats),
                        {k: _user_shape(g, grad_shapes[k], floats) for k, g in grads.items()})

            jitted = jax.jit(shaped, static_argnames=tuple(k for _, k in params) or None)

            def run(args, bound, buffers=None):
                return jitted(*args, **{k: bound[d] for d, k in params})
            return run

        def run(args, bound, buffers=None):
            kw = {k: bound[d] for d, k in params}
            if buffers:
                kw.update((keywords[n], b) for n, b in buffers.items())
            value, grads = fn(*args, **kw)
            return (_user_shape(value, value_shape, floats),
                    {k: _user_shape(g, grad_shapes[k], floats) for k, g in grads.items()})
        return run

    def _buffers(self, out, args: list, bound: dict) -> dict:
        """The arrays of `out` in the generated code's layout (views), all checked."""
        if not self._backend.out_arrays:
            raise MatgradError(f"out= needs the numpy backend; the {self.backend} backend "
                               "returns fresh arrays")
        if not isinstance(out, dict):
            raise MatgradError("out= takes a dict from gradient names to NumPy arrays, "
                               "e.g. out={'X': numpy.empty_like(X)}")
        if not all(isinstance(a, np.ndarray) for a in args):
            raise MatgradError("out= works with NumPy arrays only: other array libraries "
                               "have no out= in the array API")
        dtype = np.result_type(*args)
        views: dict = {}
        for name, buf in out.items():
            if name not in self.gradient_names:
                which = (f"gradients with respect to {', '.join(self.gradient_names)} only"
                         if self.gradient_names else "no gradients")
                raise MatgradError(f"out[{name!r}]: this function computes {which}")
            if self._grad_shapes[name] == SCALAR:
                raise MatgradError(f"out[{name!r}]: the gradient with respect to {name} is a "
                                   "scalar; only matrix and vector gradients go into arrays")
            if type(buf) is not np.ndarray:
                raise MatgradError(f"out[{name!r}] must be a NumPy array, "
                                   f"not {type(buf).__name__}")
            want = tuple(concrete(d, bound) for d in self._grad_shapes[name])
            v = next(v for v in self._vars if v.params[0] == name)
            if _declared_shape(v, buf.shape) != want:
                raise ShapeError(f"out[{name!r}] has shape {buf.shape}, but the gradient with "
                                 f"respect to {name} is {want[0]}×{want[1]}")
            if buf.dtype != dtype:
                raise MatgradError(f"out[{name!r}] has dtype {buf.dtype}, but the gradient's "
                                   f"is {dtype}")
            if not buf.flags.writeable:
                raise MatgradError(f"out[{name!r}] is read-only")
            if any(np.may_share_memory(buf, a) for a in [*args, *views.values()]):
                raise MatgradError(f"out[{name!r}] shares memory with an input or another "
                                   "out array, whose values the computation still needs")
            # a vector (n,) as the n×1 column the code writes: adding an axis of length
            # one is always a view, so the writes land in the caller's array
            views[name] = buf if buf.shape == want else buf.reshape(want)
        return views

    # ---- values in ------------------------------------------------------------------
    def bind(self, values: dict, sizes: dict | None = None, *,
             layout: bool = True) -> tuple[list, dict]:
        """(arguments in signature order, {Dim: size}), checking every shape; with
        `layout`, vectors reshaped to columns and scalars to 0-d as the code expects."""
        if not isinstance(values, dict):
            raise MatgradError("call a compiled function with a dict of values by name, "
                               f"e.g. f({{{', '.join(repr(n) + ': ...' for n in self.variables)}}})")
        bound: dict = {}
        source: dict = {}
        for d, s in (sizes or {}).items():
            d = d if isinstance(d, Dim) else Dim(str(d))
            bound[d], source[d] = int(s), "the sizes given"
        raw = []
        products: list = []  # (size, length, name): checked once the plain ones are bound
        for v in self._vars:
            name = v.params[0]
            if name not in values:
                raise MatgradError(f"no value given for {name}")
            refuse_unusable(name, values[name])
            raw.append(values[name])
        arrays = self._backend.convert(raw, self.variables)
        out = []
        for v, a in zip(self._vars, arrays):
            shaped = _Shape(_declared_shape(v, tuple(a.shape)))
            a = _as_declared(v, a) if layout else a
            for axis, want in enumerate(v.shape):
                got = shaped.shape[axis] if v.shape != SCALAR else 1
                if got != got:  # an unknown (NaN) Dask chunk size: cannot be checked
                    continue
                got = int(got)
                if isinstance(want, Dim):
                    if want in bound and bound[want] != got:
                        raise ShapeError(f"dimension {want} is {bound[want]} from "
                                         f"{source[want]} but {got} from {v.params[0]} "
                                         f"(shape {tuple(shaped.shape)})")
                    bound[want] = got
                    source.setdefault(want, v.params[0])
                elif isinstance(want, DimProduct):
                    products.append((want, got, v.params[0]))
                elif want != got:
                    raise ShapeError(f"{v.params[0]} must be {fmt_shape(v.shape)}, "
                                     f"but its value has shape {tuple(shaped.shape)}")
            out.append(a)
        for want, got, name in products:
            settle(want, got, bound, source, name)
        for d, _ in self._generated.size_parameters:
            if d not in bound:
                raise ShapeError(f"the size of dimension {d} is unknown; give it in sizes=")
        self._check_structures(out)
        return out, bound

    def _check_structures(self, args: list) -> None:
        """A variable declared with a structure (symmetric, spd, lower, ...) must have a
        value of that structure, as in evaluate (checked in the arrays' own library, on
        their device)."""
        for v, a in zip(self._vars, args):
            if v.params[1]:
                require_structure(v.params[0], structure_of(v), a)


def _fast_key(values, variables: list, plain=np.ndarray):
    """The shapes of plain float arrays (None for a Python float, NumPy backend only),
    in variable order; None where any value is something else (the checked path)."""
    if type(values) is not dict:
        return None
    key = []
    for n in variables:
        a = values.get(n)
        if isinstance(a, plain) and _is_float(a):
            key.append(tuple(a.shape))
        elif type(a) is float and plain is np.ndarray:
            key.append(None)
        else:
            return None
    return tuple(key)


def _is_float(a) -> bool:
    floating = getattr(a.dtype, "is_floating_point", None)  # a PyTorch dtype
    return bool(floating) if floating is not None else a.dtype.kind == "f"


def _fast_layout(a, layout):
    """A value in the generated code's layout, as `bind` makes it (see `_remember`)."""
    if layout is None:
        return np.asarray(a, dtype=float)
    return a if layout is False else a.reshape(layout)


class _Shape:
    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = shape


def _declared_shape(v: Expr, shape: tuple) -> tuple:
    """The shape in the generated code's layout (2-D, or () for a scalar), checked."""
    name, (r, c) = v.params[0], v.shape
    ndim = len(shape)
    if ndim > 2:
        raise ShapeError(f"the value of {name} has {ndim} axes; matgrad values have at most 2")
    if v.shape == SCALAR:
        if any(s != 1 for s in shape):
            raise ShapeError(f"{name} is a scalar but its value has shape {shape}")
        return ()
    if ndim == 2:
        return shape
    if ndim == 1 and c == 1:
        return (shape[0], 1)
    if ndim == 1 and r == 1:
        return (1, shape[0])
    raise ShapeError(f"{name} is a {r}×{c} matrix but its value has shape {shape}")


def _as_declared(v: Expr, a):
    """The array in the generated code's layout: 2-D, or 0-d for a scalar."""
    shape = _declared_shape(v, tuple(a.shape))
    return a if tuple(a.shape) == shape else a.reshape(shape)


def _user_shape(a, shape, python_floats: bool):
    """As `matgrad.evaluate` returns values: float for a scalar (where the backend
    gives Python floats, for NumPy values), 1-D for a column vector, 2-D otherwise (a
    row vector stays 1×n)."""
    if shape is None:  # a tensor: the full array, one axis per index, as computed
        return a
    if shape == SCALAR:
        if python_floats and (isinstance(a, (np.ndarray, np.generic, float, int))):
            return float(a)
        return a.reshape(()) if len(getattr(a, "shape", ())) else a
    if shape[1] == 1:
        return a[:, 0]
    return a


def compile(L: Expr, wrt=None, backend: str = "numpy", *, definitions: dict | None = None,
            sizes: dict | None = None, name: str | None = None) -> CompiledFunction:
    """A function computing L and its gradients with respect to `wrt` in one pass.

    `wrt` lists variables or names (default: every variable; [] for the value alone);
    `backend` is "numpy" (array-API code: NumPy, Dask, PyTorch, CuPy arrays), "jax"
    (jit-compiled) or "torch"; `definitions` names intermediates (z, yhat) in the
    generated code; `sizes` fixes dimension sizes for ordering products (otherwise the
    first call's sizes are used).

    >>> import numpy as np, matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X, w = mg.matrix("X", m, n), mg.vector("w", n)
    >>> f = mg.compile(mg.sum((X @ w) ** 2), wrt=[w])
    >>> value, grads = f({"X": np.eye(3, 2), "w": [1.0, 2.0]})
    >>> value, grads["w"]
    (5.0, array([2., 4.]))
    """
    backends.find(backend).require()
    return CompiledFunction(L, wrt, backend, definitions=definitions, sizes=sizes, name=name)


__all__ = ["CompiledFunction", "compile"]
