; JavaScript references: calls, `new`, JSX components, imports, re-exports, require,
; and class heritage.

(call_expression function: (identifier) @name) @reference.call
(call_expression function: (super) @name) @reference.call
(call_expression
  function: (member_expression
    object: (_) @qualifier
    property: [(property_identifier) (private_property_identifier)] @name)) @reference.call
(new_expression constructor: (identifier) @name) @reference.call
(new_expression
  constructor: (member_expression object: (_) @qualifier property: (property_identifier) @name)) @reference.call

; <Component /> renders (calls) Component; lower-case tags are HTML.
(jsx_opening_element name: (identifier) @name (#match? @name "^[A-Z]")) @reference.call
(jsx_self_closing_element name: (identifier) @name (#match? @name "^[A-Z]")) @reference.call
(jsx_opening_element
  name: (member_expression object: (_) @qualifier property: (property_identifier) @name)) @reference.call
(jsx_self_closing_element
  name: (member_expression object: (_) @qualifier property: (property_identifier) @name)) @reference.call

; ES modules; `export ... from` re-exports.
(import_statement) @reference.import
(export_statement source: (_)) @reference.import

; CommonJS: const x = require("m"); const { a, b: c } = require("m")
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

; import("m")
(call_expression function: (import) arguments: (arguments . (string) @name)) @reference.import

; class A extends B
(class_heritage [(identifier) (member_expression)] @name @reference.inherit)

; What names hold, so that `x.f()` can be resolved through x's type: variables bound to
; `new`, a call or another name.
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

; `export default named`, `export default function named() {}` and
; `export { named as default }`: the file's definition that default importers mean.
(export_statement "default" value: (identifier)) @reference.import
(export_statement "default" declaration: (_ name: (_))) @reference.import
(export_statement !source (export_clause)) @reference.import
