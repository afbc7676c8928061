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

; What names hold, so that `x.f()` can be resolved through x's type: parameters and
; receivers, `var x T`, struct fields, result types (the first of several), and
; variables bound to a composite literal (`T{}`, `&T{}`) or to a call (`x := NewT()`,
; `x, err := pkg.Open()`).
(parameter_declaration name: (identifier) @subject type: (_) @name @reference.type)
(var_spec name: (identifier) @subject type: (_) @name @reference.type)
(field_declaration name: (field_identifier) @subject type: (_) @name @reference.type)
(function_declaration
  result: [(type_identifier) (pointer_type) (qualified_type) (generic_type)] @name @reference.type)
(method_declaration
  result: [(type_identifier) (pointer_type) (qualified_type) (generic_type)] @name @reference.type)
(method_elem
  result: [(type_identifier) (pointer_type) (qualified_type) (generic_type)] @name @reference.type)
; The first of several results is the function's type. A named result (`(s *ss, err
; error)`) is also a variable of the function, bound by the parameter pattern above on
; the same type node; the declaration is what stands for the function's type, so the two
; are two references.
(function_declaration result: (parameter_list . (parameter_declaration type: (_) @name) @reference.type))
(method_declaration result: (parameter_list . (parameter_declaration type: (_) @name) @reference.type))
(method_elem result: (parameter_list . (parameter_declaration type: (_) @name) @reference.type))
(short_var_declaration
  left: (expression_list . (identifier) @subject)
  right: (expression_list .
    [(composite_literal type: (_) @name)
     (unary_expression operator: "&" operand: (composite_literal type: (_) @name))] @reference.type))
(var_spec
  . name: (identifier) @subject
  value: (expression_list .
    [(composite_literal type: (_) @name)
     (unary_expression operator: "&" operand: (composite_literal type: (_) @name))] @reference.type))
(short_var_declaration
  left: (expression_list . (identifier) @subject)
  right: (expression_list .
    (call_expression function: [(identifier) (selector_expression)] @name) @reference.assign))
(var_spec
  . name: (identifier) @subject
  value: (expression_list .
    (call_expression function: [(identifier) (selector_expression)] @name) @reference.assign))
(short_var_declaration
  left: (expression_list . (identifier) @subject)
  right: (expression_list .
    (call_expression
      function: (identifier) @_new
      arguments: (argument_list .
        [(identifier) (type_identifier) (qualified_type) (selector_expression)] @name)) @reference.type)
  (#eq? @_new "new"))
; A type assertion names the type of what it binds, with or without `ok`: `p := v.(*T)`,
; `c, ok := v.(T)`.
(short_var_declaration
  left: (expression_list . (identifier) @subject)
  right: (expression_list . (type_assertion_expression type: (_) @name) @reference.type))
(var_spec
  . name: (identifier) @subject
  value: (expression_list . (type_assertion_expression type: (_) @name) @reference.type))
; `switch x := v.(type) { case *T: ... }`: in a case of one type, `x` is of that type
; (bound as `x!` over the case's statements). In `case A, B:` it is left untyped. The
; type is anchored to the statements, so a long list of types starts no match per
; type; the predicate then tells one type from the last of several.
(type_switch_statement
  alias: (expression_list . (identifier) @subject .)
  (type_case
    type: (_) @name .
    (statement_list) @reference.type @narrow)
  (#alone-in-field? @name))
; `for _, x := range xs { .. }`: `x` is what `xs` holds (a slice's, array's or map's
; element), over the loop's body. (`for i := range xs` gives an index or a key.)
(for_statement
  (range_clause
    left: (expression_list . (_) . (identifier) @subject .)
    right: (_) @name @unwrap)
  body: (block) @reference.value @narrow)
