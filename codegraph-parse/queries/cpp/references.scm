; C++ references: calls, `new`, includes, using-declarations, base classes.

(call_expression function: (identifier) @name) @reference.call
(call_expression function: (qualified_identifier) @name) @reference.call
(call_expression
  function: (field_expression argument: (_) @qualifier field: (field_identifier) @name)) @reference.call
(call_expression
  function: (field_expression
    argument: (_) @qualifier
    field: (template_method name: (field_identifier) @name))) @reference.call
(call_expression function: (template_function name: (identifier) @name)) @reference.call
(new_expression type: (_) @name) @reference.call

(preproc_include) @reference.import
(using_declaration) @reference.import
(namespace_alias_definition) @reference.import

(base_class_clause
  [(type_identifier) (qualified_identifier) (template_type)] @name @reference.inherit)
