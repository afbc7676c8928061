; Rust definitions. See queries/README.md for the capture conventions.

(mod_item name: (identifier) @name) @definition.module

(struct_item name: (type_identifier) @name) @definition.struct
(union_item name: (type_identifier) @name) @definition.union
(enum_item name: (type_identifier) @name) @definition.enum
(enum_variant name: (identifier) @name) @definition.enum_member
(trait_item name: (type_identifier) @name) @definition.trait
(type_item name: (type_identifier) @name) @definition.type_alias
(associated_type name: (type_identifier) @name) @definition.type_alias

; An impl block is a scope, not a definition: what it contains is qualified by the
; implementing type (`impl<T> Display for Foo<T>` qualifies as `Foo`).
(impl_item type: (_) @scope.name) @scope

; Functions; inside an impl or trait the engine makes them methods.
(function_item name: (identifier) @name) @definition.function
(function_signature_item name: (identifier) @name) @definition.function

(field_declaration_list
  (field_declaration name: (field_identifier) @name) @definition.field)

(const_item name: (identifier) @name) @definition.constant
(static_item name: (identifier) @name) @definition.variable
(macro_definition name: (identifier) @name) @definition.macro

; Comments, for doc-comment lookup.
[(line_comment) (block_comment)] @comment
