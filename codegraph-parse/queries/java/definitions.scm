; Java definitions. See queries/README.md for the conventions.

; The package prefixes every qualified name in the file.
(package_declaration [(scoped_identifier) (identifier)] @name) @definition.package

(class_declaration name: (identifier) @name) @definition.class
(interface_declaration name: (identifier) @name) @definition.interface
(annotation_type_declaration name: (identifier) @name) @definition.interface
(enum_declaration name: (identifier) @name) @definition.enum
(record_declaration name: (identifier) @name) @definition.class

(enum_constant name: (identifier) @name) @definition.enum_member

(constructor_declaration name: (identifier) @name) @definition.constructor
(compact_constructor_declaration name: (identifier) @name) @definition.constructor
(method_declaration name: (identifier) @name) @definition.method
(annotation_type_element_declaration name: (identifier) @name) @definition.method

; One definition per declarator: `int a, b;` declares two fields. Static finals are
; constants.
(field_declaration
  (modifiers "static" "final")
  declarator: (variable_declarator name: (identifier) @name)) @definition.constant
(field_declaration
  declarator: (variable_declarator name: (identifier) @name)) @definition.field
(constant_declaration
  declarator: (variable_declarator name: (identifier) @name)) @definition.constant

; Comments, for doc-comment lookup.
[(line_comment) (block_comment)] @comment
