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

; What names hold, so that `x.f()` can be resolved through x's type: annotations of
; parameters, variables, attributes and return values, and variables bound to a call.
(typed_parameter (identifier) @subject type: (type) @name @reference.type)
(typed_default_parameter name: (identifier) @subject type: (type) @name @reference.type)
(function_definition return_type: (type) @name @reference.type)
(assignment
  left: [(identifier) (attribute object: (identifier) attribute: (identifier))] @subject
  type: (type) @name @reference.type)
(assignment
  left: [(identifier) (attribute object: (identifier) attribute: (identifier))] @subject
  right: (call function: [(identifier) (attribute)] @name) @reference.assign)
(assignment
  left: [(identifier) (attribute object: (identifier) attribute: (identifier))] @subject
  right: [(identifier) (attribute)] @name @reference.value)

; Inside a block an `isinstance` test guards, the name has the tested type; inside a
; loop's body or a comprehension's, the loop variable has what the iterable holds
; (`list[Text]`). Bound as `x!` over the block, where it hides the name's other
; bindings.
(if_statement
  condition: [(call
                function: (identifier) @_isinstance
                arguments: (argument_list . (identifier) @subject . [(identifier) (attribute)] @name .))
              (boolean_operator
                left: (call
                  function: (identifier) @_isinstance
                  arguments: (argument_list . (identifier) @subject . [(identifier) (attribute)] @name .))
                operator: "and")]
  consequence: (block) @reference.type @narrow
  (#eq? @_isinstance "isinstance"))
(elif_clause
  condition: [(call
                function: (identifier) @_isinstance
                arguments: (argument_list . (identifier) @subject . [(identifier) (attribute)] @name .))
              (boolean_operator
                left: (call
                  function: (identifier) @_isinstance
                  arguments: (argument_list . (identifier) @subject . [(identifier) (attribute)] @name .))
                operator: "and")]
  consequence: (block) @reference.type @narrow
  (#eq? @_isinstance "isinstance"))
(for_statement
  left: (identifier) @subject
  right: (_) @name @unwrap
  body: (block) @reference.value @narrow)
(_
  body: (_) @reference.value @narrow
  (for_in_clause
    left: (identifier) @subject
    right: (_) @name @unwrap))
