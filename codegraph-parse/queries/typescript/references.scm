; TypeScript and TSX references: calls, `new`, imports, re-exports, require, extends
; and implements. TSX adds queries/tsx/jsx.scm.

(call_expression function: (identifier) @name) @reference.call
(call_expression function: (super) @name) @reference.call
(call_expression
  function: (member_expression
    object: (_) @qualifier
    property: [(property_identifier) (private_property_identifier)] @name)) @reference.call
(new_expression constructor: (identifier) @name) @reference.call
(new_expression
  constructor: (member_expression object: (_) @qualifier property: (property_identifier) @name)) @reference.call

(import_statement) @reference.import
(export_statement source: (_)) @reference.import
(variable_declarator
  name: (identifier) @alias
  value: (call_expression
    function: (identifier) @_require
    arguments: (arguments . (string) @name))
  (#eq? @_require "require")) @reference.import
(variable_declarator
  name: (object_pattern)
  value: (call_expression
    function: (identifier) @_require
    arguments: (arguments . (string)))
  (#eq? @_require "require")) @reference.import
(call_expression function: (import) arguments: (arguments . (string) @name)) @reference.import

; class A extends B implements C, D.E<T>; interface I extends J, K
(extends_clause value: [(identifier) (member_expression)] @name @reference.inherit)
(implements_clause
  [(type_identifier) (nested_type_identifier) (generic_type)] @name @reference.implement)
(extends_type_clause
  type: [(type_identifier) (nested_type_identifier) (generic_type)] @name @reference.inherit)

; What names hold, so that `x.f()` can be resolved through x's type: annotations of
; parameters, variables, fields and return values; variables bound to `new`, a call or
; another name.
(required_parameter
  pattern: [(identifier) (this)] @subject
  type: (type_annotation) @name @reference.type)
(optional_parameter
  pattern: (identifier) @subject
  type: (type_annotation) @name @reference.type)
(function_declaration return_type: (type_annotation) @name @reference.type)
(method_definition return_type: (type_annotation) @name @reference.type)
(method_signature return_type: (type_annotation) @name @reference.type)
(function_signature return_type: (type_annotation) @name @reference.type)
(variable_declarator
  name: (identifier) @subject
  type: (type_annotation) @name @reference.type)
(public_field_definition
  name: (property_identifier) @subject
  type: (type_annotation) @name @reference.type)
(property_signature
  name: (property_identifier) @subject
  type: (type_annotation) @name @reference.type)
(variable_declarator
  name: (identifier) @subject
  value: [(new_expression constructor: [(identifier) (member_expression)] @name)
          (call_expression function: [(identifier) (member_expression)] @name)
          (await_expression (call_expression function: [(identifier) (member_expression)] @name))]
    @reference.assign)
(assignment_expression
  left: [(identifier) (member_expression object: (this) property: (property_identifier))] @subject
  right: [(new_expression constructor: [(identifier) (member_expression)] @name)
          (call_expression function: [(identifier) (member_expression)] @name)]
    @reference.assign)
(variable_declarator
  name: (identifier) @subject
  value: [(identifier) (member_expression)] @name @reference.value)
(assignment_expression
  left: [(identifier) (member_expression object: (this) property: (property_identifier))] @subject
  right: [(identifier) (member_expression)] @name @reference.value)

; What an alias stands for (`type Store = Map<string, Entry>`), so that a value declared
; with the alias has the aliased type's members.
(type_alias_declaration
  value: [(type_identifier) (generic_type) (nested_type_identifier)] @name @reference.type)

; `export default named`, `export default function named() {}` and
; `export { named as default }`: the file's definition that default importers mean.
(export_statement "default" value: (identifier)) @reference.import
(export_statement "default" declaration: (_ name: (_))) @reference.import
(export_statement !source (export_clause)) @reference.import
