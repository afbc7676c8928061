; Go references: calls, imports, embedded types.

(call_expression function: (identifier) @name) @reference.call
(call_expression
  function: (selector_expression operand: (_) @qualifier field: (field_identifier) @name)) @reference.call
(call_expression
  function: (index_expression operand: (identifier) @name)) @reference.call

; import alias "path"; the alias may be `.` or `_`.
(import_spec name: (_) @alias path: (_) @name) @reference.import
(import_spec path: (_) @name) @reference.import

; Embedded struct fields and embedded interfaces.
(field_declaration_list
  (field_declaration
    !name
    type: [(type_identifier) (qualified_type) (pointer_type) (generic_type)] @name @reference.inherit))
(interface_type
  (type_elem [(type_identifier) (qualified_type) (generic_type)] @name @reference.inherit))
