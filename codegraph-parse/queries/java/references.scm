; Java references: calls, object creation, imports, extends and implements.

(method_invocation object: (_) @qualifier name: (identifier) @name) @reference.call
(method_invocation !object name: (identifier) @name) @reference.call
(object_creation_expression
  type: [(type_identifier) (scoped_type_identifier) (generic_type)] @name) @reference.call
(explicit_constructor_invocation constructor: [(this) (super)] @name) @reference.call

(import_declaration) @reference.import

(superclass [(type_identifier) (scoped_type_identifier) (generic_type)] @name @reference.inherit)
(super_interfaces
  (type_list [(type_identifier) (scoped_type_identifier) (generic_type)] @name @reference.implement))
(extends_interfaces
  (type_list [(type_identifier) (scoped_type_identifier) (generic_type)] @name @reference.inherit))

; What names hold, so that `x.f()` can be resolved through x's type: parameters,
; locals, fields, loop variables and return types; `var x = new T()`.
(formal_parameter type: (_) @name @reference.type name: (identifier) @subject)
(local_variable_declaration
  type: (_) @name @reference.type
  declarator: (variable_declarator name: (identifier) @subject))
(field_declaration
  type: (_) @name @reference.type
  declarator: (variable_declarator name: (identifier) @subject))
(enhanced_for_statement type: (_) @name @reference.type name: (identifier) @subject)
(method_declaration type: (_) @name @reference.type)
(local_variable_declaration
  declarator: (variable_declarator
    name: (identifier) @subject
    value: (object_creation_expression type: (_) @name) @reference.type))
