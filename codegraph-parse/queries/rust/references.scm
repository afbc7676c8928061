; Rust references: calls, imports, trait implementations and supertraits.

; f(x), Foo(x) (tuple structs), x.f(), Type::f(), f::<T>()
(call_expression function: (identifier) @name) @reference.call
(call_expression
  function: (field_expression value: (_) @qualifier field: (field_identifier) @name)) @reference.call
(call_expression
  function: (scoped_identifier path: (_) @qualifier name: (identifier) @name)) @reference.call
(call_expression
  function: (generic_function function: (identifier) @name)) @reference.call
(call_expression
  function: (generic_function
    function: (field_expression value: (_) @qualifier field: (field_identifier) @name))) @reference.call
(call_expression
  function: (generic_function
    function: (scoped_identifier path: (_) @qualifier name: (identifier) @name))) @reference.call

; Macro invocations resolve to `macro_rules!` definitions.
(macro_invocation macro: (identifier) @name) @reference.call
(macro_invocation
  macro: (scoped_identifier path: (_) @qualifier name: (identifier) @name)) @reference.call

; `use` trees are unfolded by the Rust rules.
(use_declaration) @reference.import
(extern_crate_declaration) @reference.import

; impl Trait for Type
(impl_item trait: (_) @name type: (_) @subject) @reference.implement

; trait A: B + C
(trait_item
  bounds: (trait_bounds
    [(type_identifier) (scoped_type_identifier) (generic_type)] @name @reference.inherit))

; What names hold, so that `x.f()` can be resolved through x's type: parameters,
; `let x: T`, struct fields and return types (`Self` included); `let x = T::new()`,
; `let x = make()?` and `let x = T { .. }`.
(parameter pattern: (identifier) @subject type: (_) @name @reference.type)
(let_declaration pattern: (identifier) @subject type: (_) @name @reference.type)
(field_declaration name: (field_identifier) @subject type: (_) @name @reference.type)
(function_item return_type: (_) @name @reference.type)
(function_signature_item return_type: (_) @name @reference.type)
(let_declaration
  pattern: (identifier) @subject
  !type
  value: (call_expression function: [(identifier) (scoped_identifier)] @name)
    @reference.assign)
(let_declaration
  pattern: (identifier) @subject
  !type
  value: (struct_expression name: [(type_identifier) (scoped_type_identifier)] @name)
    @reference.type)
; `let x = a.f()`, `let x = a.f().await`: the method's return type.
(let_declaration
  pattern: (identifier) @subject
  !type
  value: [(call_expression
            function: (field_expression value: (_) @qualifier field: (field_identifier) @name))
          (await_expression (call_expression
            function: (field_expression value: (_) @qualifier field: (field_identifier) @name)))]
    @reference.assign)
; What a wrapper or a collection holds (`Option<T>`, `Result<T, E>`, `Vec<T>`), the
; expression read by the resolver: `let x = e?;`, `if let Some(x) = e`, `while let
; Ok(x) = e`, `let Some(x) = e else`, `match e { Some(x) => .. }`, `for x in e`.
(let_declaration
  pattern: (identifier) @subject
  !type
  value: (try_expression (_) @name @unwrap) @reference.value)
; (The binding's span is the expression bound: `if let Some(x) = x.next()` still reads
; the outer `x` inside it, the new one after it.)
(let_condition
  pattern: (tuple_struct_pattern
    type: (identifier) @_wrapper
    [(identifier) @subject
     (ref_pattern (identifier) @subject)
     (mut_pattern (identifier) @subject)])
  value: (_) @name @unwrap @reference.value
  (#any-of? @_wrapper "Some" "Ok"))
(let_declaration
  pattern: (tuple_struct_pattern
    type: (identifier) @_wrapper
    [(identifier) @subject
     (ref_pattern (identifier) @subject)
     (mut_pattern (identifier) @subject)])
  value: (_) @name @unwrap @reference.value
  (#any-of? @_wrapper "Some" "Ok"))
(match_expression
  value: (_) @name @unwrap
  body: (match_block
    (match_arm
      pattern: (match_pattern
        (tuple_struct_pattern
          type: (identifier) @_wrapper
          [(identifier) @subject @reference.value
           (ref_pattern (identifier) @subject @reference.value)
           (mut_pattern (identifier) @subject @reference.value)]))))
  (#any-of? @_wrapper "Some" "Ok"))
(for_expression
  pattern: (identifier) @subject
  value: (_) @name @unwrap @reference.value)
; `for (k, v) in &map`, `for (_, x) in v.iter().enumerate()`: the last of a pair is
; what the loop's item holds (a map's value, an enumerated item). (`_` is no named node,
; so the pattern asks for the last name alone: a longer tuple is a tuple's item, which
; holds nothing that types a name.)
(for_expression
  pattern: (tuple_pattern [(identifier) @subject
                           (ref_pattern (identifier) @subject)
                           (mut_pattern (identifier) @subject)] .)
  value: (_) @name @unwrap @reference.value)
; A closure's parameters receive what the function it is given to passes them, which
; the resolver reads from the function's declaration (below) or, for the standard
; library's adaptors and combinators, from what the receiver holds:
; `cmd.args_of(|a| a.f())`, `v.iter().map(|x| x.f())`, `opt.map_or(0, |x| x.g())`.
; The parameter holds inside the closure alone (bound as `a!` over it).
(call_expression
  function: (_) @name
  arguments: (arguments
    (closure_expression
      parameters: (closure_parameters
        [(identifier) @subject @reference.value
         (mut_pattern (identifier) @subject @reference.value)
         (reference_pattern (identifier) @subject @reference.value)
         ; `|(k, v)|`, `|&(_, ref v)|`: the last of a pair, as in a `for` loop above
         ; (`Rules::closure_position` checks that it is a pair).
         (tuple_pattern [(identifier) @subject @reference.value
                         (ref_pattern (identifier) @subject @reference.value)
                         (mut_pattern (identifier) @subject @reference.value)] .)
         (reference_pattern
           (tuple_pattern [(identifier) @subject @reference.value
                           (ref_pattern (identifier) @subject @reference.value)
                           (mut_pattern (identifier) @subject @reference.value)] .))])) @closure))
; What a function passes to a closure it takes (`where F: Fn(&Arg) -> bool`, `f: impl
; FnMut(T)`), bound under the closure's position in the function.
(function_type
  parameters: (parameters (_) @name @reference.type @closure))
; `let x = self.field`, `let x = &mut a.b`: the field's type.
(let_declaration
  pattern: (identifier) @subject
  !type
  value: [(field_expression value: (_) @qualifier field: (field_identifier) @name)
          (reference_expression
            value: (field_expression value: (_) @qualifier field: (field_identifier) @name))]
    @reference.value)

; A tuple struct's or tuple variant's field types, bound under their positions
; (`struct W(A, B)`: `self.0` is an `A`).
(ordered_field_declaration_list type: (_) @name @reference.type)
; A name a tuple-struct pattern binds (`IoStack::Disabled(v) =>`, `Wrapper(inner)`):
; that position of the pattern's type.
(tuple_struct_pattern
  type: (_) @qualifier
  [(identifier) @subject @name
   (ref_pattern (identifier) @subject @name)
   (mut_pattern (identifier) @subject @name)] @reference.value
  (#not-any-of? @qualifier "Some" "Ok" "Err"))

; What an alias stands for (`type ParseStream<'a> = &'a ParseBuffer<'a>`), so that a
; value declared with the alias has the aliased type's methods.
(type_item type: (_) @name @reference.type)

; Type parameters' trait bounds (`<R: Read<'de>>`, `where R: Read<'de>`), bound under the
; parameter's name, so that a value of type `R` has `Read`'s methods.
(type_parameter
  name: (type_identifier) @subject
  bounds: (trait_bounds
    [(type_identifier) (scoped_type_identifier) (generic_type)] @name @reference.type))
(where_predicate
  left: (type_identifier) @subject
  bounds: (trait_bounds
    [(type_identifier) (scoped_type_identifier) (generic_type)] @name @reference.type))
