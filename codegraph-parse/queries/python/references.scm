; Python references: calls, imports, base classes.

(call function: (identifier) @name) @reference.call
(call
  function: (attribute object: (_) @qualifier attribute: (identifier) @name)) @reference.call

; `import a.b as c` and `from .m import x as y, z` are unfolded by the Python rules.
(import_statement) @reference.import
(import_from_statement) @reference.import

; class C(Base, mod.Mixin, Generic[T], metaclass=M): keyword arguments are not bases.
(class_definition
  superclasses: (argument_list
    [(identifier) (attribute)] @name @reference.inherit))
(class_definition
  superclasses: (argument_list
    (subscript value: [(identifier) (attribute)] @name) @reference.inherit))
