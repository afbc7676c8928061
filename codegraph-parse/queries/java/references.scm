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
