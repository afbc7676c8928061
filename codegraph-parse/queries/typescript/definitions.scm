; TypeScript and TSX definitions. See queries/README.md for the conventions.

(class_declaration name: (type_identifier) @name) @definition.class
(abstract_class_declaration name: (type_identifier) @name) @definition.class
(class name: (type_identifier) @name) @definition.class
(interface_declaration name: (type_identifier) @name) @definition.interface
(enum_declaration name: (identifier) @name) @definition.enum
(enum_body name: (property_identifier) @name @definition.enum_member)
(enum_body (enum_assignment name: (property_identifier) @name) @definition.enum_member)
(type_alias_declaration name: (type_identifier) @name) @definition.type_alias

; namespace A.B {}, module A {}, declare module "m" {}
(internal_module name: (_) @name) @definition.namespace
(module name: (string (string_fragment) @name)) @definition.namespace
(module name: [(identifier) (nested_identifier)] @name) @definition.namespace

; Functions, including overload and ambient signatures.
(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function
(function_signature name: (identifier) @name) @definition.function

; Class and interface members.
(method_definition "get" name: (_) @name) @definition.property
(method_definition "set" name: (_) @name) @definition.property
(method_definition name: (_) @name) @definition.method
(method_signature name: (_) @name) @definition.method
(abstract_method_signature name: (_) @name) @definition.method
(property_signature name: (_) @name) @definition.property
; `new (...): T` in an interface: a construct signature, named after its keyword.
(construct_signature "new" @name) @definition.method
(public_field_definition
  name: (_) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.method
(public_field_definition name: (_) @name) @definition.field

; Object-literal members with function values.
(pair
  key: [(property_identifier) (string) (number)] @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.method

; const f = () => {}, var g = function () {}
(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

; a.b = function () {}, Foo.prototype.bar = function () {}, exports.x = () => {}
(assignment_expression
  left: (member_expression object: (_) @receiver property: (property_identifier) @name)
  right: [(arrow_function) (function_expression) (generator_function)]) @definition.function

; f = function () {}: a function (re)defined by assignment, as in
; `var getTag = baseGetTag; if (...) getTag = function (value) {...}`.
(assignment_expression
  left: (identifier) @name
  right: [(arrow_function) (function_expression) (generator_function)]) @definition.function

; Foo.prototype.bar = baz: a method defined by aliasing another function.
(assignment_expression
  left: (member_expression
    object: (member_expression property: (property_identifier) @_prototype) @receiver
    property: (property_identifier) @name)
  right: [(identifier) (member_expression) (call_expression)]
  (#eq? @_prototype "prototype")) @definition.function

; Named function expressions that are not bound by an assignment, declaration or
; object key: `defineGetter(req, "ip", function ip() {})`, `return function f() {}`.
; (One pattern on function expressions, filtered by parent, costs less than one
; pattern per context: patterns starting at common nodes such as `arguments` slow the
; walk of every file.)
((function_expression name: (identifier) @name) @definition.function
  (#not-parent-type? @definition.function "assignment_expression" "variable_declarator" "pair"))

; Module- and namespace-level variables; UPPER_CASE ones are constants.
(program
  (lexical_declaration
    (variable_declarator name: (identifier) @name (#match? @name "^[A-Z][A-Z0-9_]*$")) @definition.constant))
(export_statement
  declaration: (lexical_declaration
    (variable_declarator name: (identifier) @name (#match? @name "^[A-Z][A-Z0-9_]*$")) @definition.constant))
(program
  [(lexical_declaration (variable_declarator name: (identifier) @name) @definition.variable)
   (variable_declaration (variable_declarator name: (identifier) @name) @definition.variable)])
(export_statement
  declaration: [(lexical_declaration (variable_declarator name: (identifier) @name) @definition.variable)
                (variable_declaration (variable_declarator name: (identifier) @name) @definition.variable)])

; An anonymous default export (`export default function () {}`, `export default () =>
; ...`, `export default class {}`) is named `default`, as its importers ask for it.
(export_statement "default" @name
  value: [(function_expression !name) (arrow_function)] @definition.function)
(export_statement "default" @name
  value: (class !name) @definition.class)

; Comments, for doc-comment lookup.
(comment) @comment
