; JavaScript definitions (JSX included). See queries/README.md for the conventions.

(class_declaration name: (identifier) @name) @definition.class
(class name: (identifier) @name) @definition.class

(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function

; Getters and setters are properties; other methods are methods, in classes and in
; object literals alike.
(method_definition "get" name: (_) @name) @definition.property
(method_definition "set" name: (_) @name) @definition.property
(method_definition name: (_) @name) @definition.method

; Class fields: a function value makes a method.
(field_definition
  property: (_) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.method
(field_definition property: (_) @name) @definition.field

; Object-literal members with function values.
(pair
  key: [(property_identifier) (string) (number)] @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.method

; Variables holding object literals, at any depth: objects are JavaScript's
; namespaces, and their function members need a container.
(variable_declarator name: (identifier) @name value: (object)) @definition.variable

; Object-literal members holding objects: nested namespaces and configuration such as
; `module.exports = { meta: { docs: {...} }, create() {} }`.
(pair
  key: [(property_identifier) (string) (number)] @name
  value: (object)) @definition.property

; module.exports = {...} and exports.x = {...} define the module's exported object.
(assignment_expression
  left: (member_expression object: (_) @receiver property: (property_identifier) @name)
  right: (object)) @definition.variable

; Named function expressions passed as arguments: defineGetter(req, "ip", function ip() {})
(arguments (function_expression name: (identifier) @name) @definition.function)

; const f = () => {}, var g = function () {}
(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

; a.b = function () {}, Foo.prototype.bar = function () {}, exports.x = () => {}.
; The receiver makes it a method; `exports` and `module.exports` make it top-level.
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

; Module-level variables; UPPER_CASE ones are constants.
(program
  (lexical_declaration
    (variable_declarator name: (identifier) @name (#match? @name "^[A-Z][A-Z0-9_]*$")) @definition.constant))
(program
  (export_statement
    declaration: (lexical_declaration
      (variable_declarator name: (identifier) @name (#match? @name "^[A-Z][A-Z0-9_]*$")) @definition.constant)))
(program
  [(lexical_declaration (variable_declarator name: (identifier) @name) @definition.variable)
   (variable_declaration (variable_declarator name: (identifier) @name) @definition.variable)])
(program
  (export_statement
    declaration: [(lexical_declaration (variable_declarator name: (identifier) @name) @definition.variable)
                  (variable_declaration (variable_declarator name: (identifier) @name) @definition.variable)]))

; An anonymous default export (`export default function () {}`, `export default () =>
; ...`, `export default class {}`) is named `default`, as its importers ask for it.
(export_statement "default" @name
  value: [(function_expression !name) (arrow_function)] @definition.function)
(export_statement "default" @name
  value: (class !name) @definition.class)

; Comments, for doc-comment lookup.
(comment) @comment
