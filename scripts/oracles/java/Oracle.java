// Call-pair oracle for Java: javac's tree API (JDK 17). See ../README.md for the pair format.
//
//   java -cp CLASSES Oracle ROOT OUT FILELIST [javac options...]
//
// Parses and attributes every file listed in FILELIST (one path a line) in one JavacTask,
// errors collected and ignored, then writes a pair for every method invocation, `new`
// expression, `this(...)`/`super(...)` call and extends/implements clause that javac
// resolved. A target is a declaration in the analyzed sources, at the line of its NAME.
// The method is the one javac binds statically (an interface or superclass method, not
// the overrides that may run). Two extra fields, for information only (the scorer ignores
// them): `overrides`, the methods in ROOT overriding the bound one, and `overridden`, those
// it overrides; and at a method call `receiver`, what it is made on (see receiver()).

import com.sun.source.tree.*;
import com.sun.source.util.*;

import javax.lang.model.element.*;
import javax.lang.model.type.*;
import javax.lang.model.util.*;
import javax.tools.*;

import java.io.*;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;

public class Oracle {
    static Path root;
    static Trees trees;
    static Elements elements;
    static Types types;
    static SourcePositions positions;
    static final Map<Element, int[]> declCache = new HashMap<>();   // -> {fileIndex, line}
    static final Map<Element, String> declPath = new HashMap<>();
    static final Map<ExecutableElement, List<ExecutableElement>> overriders = new HashMap<>();
    static final Map<ExecutableElement, List<ExecutableElement>> overridden = new HashMap<>();
    static final int MAX_EXTRA = 50;  // of each informational list, per site
    static final Map<CompilationUnitTree, String> textCache = new HashMap<>();
    static int sites, external, skipped;

    public static void main(String[] args) throws Exception {
        root = Paths.get(args[0]).toAbsolutePath().normalize();
        Path out = Paths.get(args[1]);
        List<String> files = new ArrayList<>();
        for (String l : Files.readAllLines(Paths.get(args[2]), StandardCharsets.UTF_8)) {
            if (!l.isBlank()) files.add(l.trim());
        }
        List<String> options = new ArrayList<>(Arrays.asList(args).subList(3, args.length));

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        Map<String, Integer> errorsByFile = new TreeMap<>();
        List<String> firstErrors = new ArrayList<>();
        DiagnosticListener<JavaFileObject> listener = d -> {
            if (d.getKind() == Diagnostic.Kind.ERROR) {
                String f = d.getSource() == null ? "(no file)" : d.getSource().getName();
                errorsByFile.merge(f, 1, Integer::sum);
                if (firstErrors.size() < 5) {
                    firstErrors.add(f + ":" + d.getLineNumber() + ": " + d.getMessage(Locale.ROOT).split("\n")[0]);
                }
            }
        };
        StandardJavaFileManager fm = javac.getStandardFileManager(listener, null, StandardCharsets.UTF_8);
        Iterable<? extends JavaFileObject> units = fm.getJavaFileObjectsFromStrings(files);
        JavacTask task = (JavacTask) javac.getTask(null, fm, listener, options, null, units);
        long t0 = System.currentTimeMillis();
        Iterable<? extends CompilationUnitTree> parsed;
        try {
            parsed = task.parse();
            task.analyze();
        } catch (Throwable e) {
            // A crash of javac itself: whatever was parsed may still be partly attributed.
            System.err.println("java oracle: javac failed: " + e);
            parsed = null;
        }
        if (parsed == null) {
            System.err.println("java oracle: nothing analyzed");
            Files.write(out, new byte[0]);
            System.exit(0);
        }
        long t1 = System.currentTimeMillis();
        trees = Trees.instance(task);
        elements = task.getElements();
        types = task.getTypes();
        positions = trees.getSourcePositions();

        List<CompilationUnitTree> cus = new ArrayList<>();
        for (CompilationUnitTree cu : parsed) cus.add(cu);

        // Overrides among the analyzed methods (information only).
        for (CompilationUnitTree cu : cus) {
            new TreePathScanner<Void, Void>() {
                @Override
                public Void visitMethod(MethodTree node, Void v) {
                    Element e = trees.getElement(getCurrentPath());
                    if (e instanceof ExecutableElement && e.getKind() == ElementKind.METHOD) {
                        try {
                            recordOverrides((ExecutableElement) e);
                        } catch (Throwable ignored) {
                        }
                    }
                    return super.visitMethod(node, v);
                }
            }.scan(cu, null);
        }

        try (Writer w = new BufferedWriter(new OutputStreamWriter(Files.newOutputStream(out), StandardCharsets.UTF_8))) {
            for (CompilationUnitTree cu : cus) {
                String rel = relPath(cu);
                if (rel == null) continue;
                try {
                    new Scanner(cu, rel, w).scan(cu, null);
                } catch (Throwable e) {
                    skipped++;
                    System.err.println("java oracle: " + rel + ": " + e);
                }
            }
        }
        long t2 = System.currentTimeMillis();
        System.err.printf("java oracle: %d files, %d with javac errors (%d errors, ignored), %d sites written (%d external), "
                + "%d files skipped; javac %.1fs, scan %.1fs%n",
                cus.size(), errorsByFile.size(), errorsByFile.values().stream().mapToInt(i -> i).sum(),
                sites, external, skipped, (t1 - t0) / 1000.0, (t2 - t1) / 1000.0);
        for (String e : firstErrors) System.err.println("  error: " + e);
        int shown = 0;
        for (Map.Entry<String, Integer> e : errorsByFile.entrySet()) {
            if (shown++ >= 10) {
                System.err.println("  ...");
                break;
            }
            System.err.println("  " + e.getValue() + " errors in " + e.getKey());
        }
    }

    static void recordOverrides(ExecutableElement m) {
        TypeElement owner = (TypeElement) m.getEnclosingElement();
        Set<TypeElement> seen = new HashSet<>();
        Deque<TypeMirror> todo = new ArrayDeque<>(types.directSupertypes(owner.asType()));
        while (!todo.isEmpty()) {
            TypeMirror t = todo.pop();
            if (t.getKind() != TypeKind.DECLARED) continue;
            TypeElement sup = (TypeElement) ((DeclaredType) t).asElement();
            if (!seen.add(sup)) continue;
            for (Element member : sup.getEnclosedElements()) {
                if (member.getKind() == ElementKind.METHOD
                        && member.getSimpleName().equals(m.getSimpleName())
                        && elements.overrides(m, (ExecutableElement) member, owner)) {
                    overriders.computeIfAbsent((ExecutableElement) member, k -> new ArrayList<>()).add(m);
                    overridden.computeIfAbsent(m, k -> new ArrayList<>()).add((ExecutableElement) member);
                }
            }
            todo.addAll(types.directSupertypes(t));
        }
    }

    static String relPath(CompilationUnitTree cu) {
        try {
            URI uri = cu.getSourceFile().toUri();
            Path p = Paths.get(uri).toAbsolutePath().normalize();
            if (!p.startsWith(root)) return null;
            return root.relativize(p).toString().replace(File.separatorChar, '/');
        } catch (Exception e) {
            return null;
        }
    }

    static String text(CompilationUnitTree cu) {
        return textCache.computeIfAbsent(cu, c -> {
            try {
                return c.getSourceFile().getCharContent(true).toString();
            } catch (IOException e) {
                return "";
            }
        });
    }

    /** Where an element is declared in the analyzed sources: {path, line of its name}, or null. */
    static Object[] declaration(Element e) {
        if (e == null) return null;
        if (declCache.containsKey(e)) {
            int[] v = declCache.get(e);
            return v == null ? null : new Object[] {declPath.get(e), v[0]};
        }
        Object[] r = null;
        try {
            r = computeDeclaration(e);
        } catch (Throwable ignored) {
        }
        declCache.put(e, r == null ? null : new int[] {(Integer) r[1]});
        if (r != null) declPath.put(e, (String) r[0]);
        return r;
    }

    static Object[] computeDeclaration(Element e) {
        // Defaults (the implicit constructor, a record's accessors, enum values()) have no name
        // in the source.
        if (elements.getOrigin(e) != Elements.Origin.EXPLICIT) return null;
        TreePath path = trees.getPath(e);
        if (path == null) return null;
        CompilationUnitTree cu = path.getCompilationUnit();
        String rel = relPath(cu);
        if (rel == null) return null;
        Tree leaf = path.getLeaf();
        String src = text(cu);
        long from;
        String name;
        if (leaf instanceof MethodTree) {
            MethodTree m = (MethodTree) leaf;
            if (e.getKind() == ElementKind.CONSTRUCTOR) {
                name = e.getEnclosingElement().getSimpleName().toString();
            } else {
                name = m.getName().toString();
            }
            from = positions.getStartPosition(cu, m);
            from = Math.max(from, positions.getEndPosition(cu, m.getModifiers()));
            for (TypeParameterTree tp : m.getTypeParameters()) {
                from = Math.max(from, positions.getEndPosition(cu, tp));
            }
            if (m.getReturnType() != null) {
                from = Math.max(from, positions.getEndPosition(cu, m.getReturnType()));
            }
        } else if (leaf instanceof ClassTree) {
            ClassTree c = (ClassTree) leaf;
            name = c.getSimpleName().toString();
            if (name.isEmpty()) return null;
            from = positions.getStartPosition(cu, c);
            from = Math.max(from, positions.getEndPosition(cu, c.getModifiers()));
        } else {
            return null;
        }
        if (from < 0) return null;
        int at = findName(src, (int) from, name);
        if (at < 0) return null;
        return new Object[] {rel, (int) cu.getLineMap().getLineNumber(at)};
    }

    /** The first identifier token equal to name at or after from, skipping comments. */
    static int findName(String s, int from, String name) {
        int i = from, n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            if (c == '/' && i + 1 < n && s.charAt(i + 1) == '/') {
                while (i < n && s.charAt(i) != '\n') i++;
            } else if (c == '/' && i + 1 < n && s.charAt(i + 1) == '*') {
                int end = s.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
            } else if (Character.isJavaIdentifierStart(c)) {
                int j = i;
                while (j < n && Character.isJavaIdentifierPart(s.charAt(j))) j++;
                if (s.substring(i, j).equals(name)) return i;
                i = j;
            } else if (c == '{' || c == '(' || c == ';') {
                return -1;  // past the name: it should come before the body or parameters
            } else {
                i++;
            }
        }
        return -1;
    }

    static String json(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    static class Scanner extends TreePathScanner<Void, Void> {
        final CompilationUnitTree cu;
        final String rel;
        final Writer w;
        final String src;

        Scanner(CompilationUnitTree cu, String rel, Writer w) {
            this.cu = cu;
            this.rel = rel;
            this.w = w;
            this.src = text(cu);
        }

        int line(long pos) {
            return (int) cu.getLineMap().getLineNumber(pos);
        }

        /** The name is really written in the source ending at end (not a tree javac made up). */
        boolean written(long end, String name) {
            if (end < name.length() || end > src.length()) return false;
            return src.regionMatches((int) end - name.length(), name, 0, name.length());
        }

        /** pos: where the callee's name is written (a site's line is the name's line). */
        void emit(String edge, long pos, String name, List<Object[]> targets, ExecutableElement bound,
                String receiver) {
            try {
                StringBuilder b = new StringBuilder();
                b.append("{\"edge\": ").append(json(edge)).append(", \"path\": ").append(json(rel))
                        .append(", \"line\": ").append(line(pos)).append(", \"name\": ").append(json(name))
                        .append(", \"targets\": [");
                Set<String> seen = new LinkedHashSet<>();
                for (Object[] t : targets) {
                    seen.add("{\"path\": " + json((String) t[0]) + ", \"line\": " + t[1] + "}");
                }
                b.append(String.join(", ", seen)).append("], \"external\": ").append(targets.isEmpty());
                if (receiver != null) b.append(", \"receiver\": ").append(json(receiver));
                if (bound != null) {
                    // Information only, not targets: the methods in ROOT that override the bound
                    // one (one of them may run) and those it overrides.
                    extra(b, "overrides", overriders.getOrDefault(bound, List.of()));
                    extra(b, "overridden", overridden.getOrDefault(bound, List.of()));
                }
                b.append("}\n");
                w.write(b.toString());
                sites++;
                if (targets.isEmpty()) external++;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        static void extra(StringBuilder b, String field, List<ExecutableElement> methods) {
            Set<String> out = new LinkedHashSet<>();
            for (ExecutableElement m : methods) {
                Object[] d = declaration(m);
                if (d != null && out.size() < MAX_EXTRA) {
                    out.add("{\"path\": " + json((String) d[0]) + ", \"line\": " + d[1] + "}");
                }
            }
            if (!out.isEmpty()) b.append(", \"").append(field).append("\": [").append(String.join(", ", out)).append("]");
        }

        static boolean usable(Element e) {
            if (e == null) return false;
            ElementKind k = e.getKind();
            return k != ElementKind.OTHER && !(e.asType() != null && e.asType().getKind() == TypeKind.ERROR);
        }

        @Override
        public Void visitMethodInvocation(MethodInvocationTree node, Void v) {
            try {
                site(node);
            } catch (Throwable ignored) {
            }
            return super.visitMethodInvocation(node, v);
        }

        void site(MethodInvocationTree node) {
            ExpressionTree sel = node.getMethodSelect();
            String name;
            if (sel instanceof IdentifierTree) name = ((IdentifierTree) sel).getName().toString();
            else if (sel instanceof MemberSelectTree) name = ((MemberSelectTree) sel).getIdentifier().toString();
            else return;
            long nameEnd = positions.getEndPosition(cu, sel);
            if (!written(nameEnd, name)) return;  // e.g. an implicit super()
            Element e = trees.getElement(getCurrentPath());
            if (!(e instanceof ExecutableElement) || !usable(e)) return;
            ExecutableElement m = (ExecutableElement) e;
            List<Object[]> targets = new ArrayList<>();
            Object[] d = declaration(m);
            if (d != null) targets.add(d);
            if (m.getKind() == ElementKind.CONSTRUCTOR) {
                // this(...) / super(...): the constructor, and its class as the README asks.
                Object[] c = declaration(m.getEnclosingElement());
                if (c != null) targets.add(c);
            } else if (d == null && declaration(m.getEnclosingElement()) != null) {
                return;  // a record's accessor, an enum's values(): in the package, but not written
            }
            String receiver = null;
            try {
                receiver = receiver(sel);
            } catch (Throwable ignored) {
            }
            emit("calls", nameEnd - name.length(), name, targets, m, receiver);
        }

        /** What the call is made on (information only): `none` for an unqualified call, else
         *  the receiver's kind (local, parameter, field, this, super, type, call, new, cast,
         *  array, other) and, for a variable, where its declared type is (:root, :external,
         *  :typevar, :other). */
        String receiver(ExpressionTree sel) {
            if (!(sel instanceof MemberSelectTree)) return "none";
            ExpressionTree x = ((MemberSelectTree) sel).getExpression();
            while (x instanceof ParenthesizedTree) x = ((ParenthesizedTree) x).getExpression();
            if (x instanceof MethodInvocationTree) return "call";
            if (x instanceof NewClassTree) return "new";
            if (x instanceof TypeCastTree) return "cast";
            if (x instanceof ArrayAccessTree) return "array";
            String last = x instanceof IdentifierTree ? ((IdentifierTree) x).getName().toString()
                    : x instanceof MemberSelectTree ? ((MemberSelectTree) x).getIdentifier().toString() : null;
            if (last == null) return "other";
            if (last.equals("this") || last.equals("super")) return last;
            Element e = trees.getElement(new TreePath(new TreePath(getCurrentPath(), sel), x));
            if (e == null) return "other";
            String kind;
            switch (e.getKind()) {
                case LOCAL_VARIABLE: case EXCEPTION_PARAMETER: case RESOURCE_VARIABLE: case BINDING_VARIABLE:
                    kind = "local";
                    break;
                case PARAMETER:
                    kind = "parameter";
                    break;
                case FIELD: case ENUM_CONSTANT:
                    kind = "field";
                    break;
                default:
                    return e.getKind().isClass() || e.getKind().isInterface() ? "type" : "other";
            }
            TypeMirror t = e.asType();
            String where;
            if (t.getKind() == TypeKind.DECLARED) {
                where = declaration(((DeclaredType) t).asElement()) != null ? "root" : "external";
            } else if (t.getKind() == TypeKind.TYPEVAR) {
                where = "typevar";
            } else {
                where = "other";
            }
            return kind + ":" + where;
        }

        @Override
        public Void visitNewClass(NewClassTree node, Void v) {
            try {
                site(node);
            } catch (Throwable ignored) {
            }
            return super.visitNewClass(node, v);
        }

        static Tree baseType(Tree t) {
            while (true) {
                if (t instanceof ParameterizedTypeTree) t = ((ParameterizedTypeTree) t).getType();
                else if (t instanceof AnnotatedTypeTree) t = ((AnnotatedTypeTree) t).getUnderlyingType();
                else return t;
            }
        }

        static String lastName(Tree t) {
            if (t instanceof IdentifierTree) return ((IdentifierTree) t).getName().toString();
            if (t instanceof MemberSelectTree) return ((MemberSelectTree) t).getIdentifier().toString();
            return null;
        }

        void site(NewClassTree node) {
            // An enum constant's implicit `new`: nothing is written.
            Tree parent = getCurrentPath().getParentPath().getLeaf();
            if (parent instanceof VariableTree) {
                Element ve = trees.getElement(getCurrentPath().getParentPath());
                if (ve != null && ve.getKind() == ElementKind.ENUM_CONSTANT) return;
            }
            Tree id = baseType(node.getIdentifier());
            String name = lastName(id);
            long nameEnd = positions.getEndPosition(cu, id);
            if (name == null || !written(nameEnd, name)) return;
            Element cls = trees.getElement(new TreePath(getCurrentPath(), id));
            if (!(cls instanceof TypeElement) || !usable(cls)) return;
            Element ctor = trees.getElement(getCurrentPath());
            List<Object[]> targets = new ArrayList<>();
            if (ctor instanceof ExecutableElement && usable(ctor)) {
                Element owner = ctor.getEnclosingElement();
                if (owner instanceof TypeElement && ((TypeElement) owner).getNestingKind() == NestingKind.ANONYMOUS) {
                    ctor = superConstructor(node);
                }
                Object[] d = declaration(ctor);
                if (d != null) targets.add(d);
            }
            Object[] c = declaration(cls);
            if (c != null) targets.add(c);
            emit("calls", nameEnd - name.length(), name, targets, null, null);
        }

        /** For `new T(args) { body }`: the constructor of T the anonymous class's one calls. */
        Element superConstructor(NewClassTree node) {
            ClassTree body = node.getClassBody();
            if (body == null) return null;
            TreePath bodyPath = new TreePath(getCurrentPath(), body);
            for (Tree member : body.getMembers()) {
                if (member instanceof MethodTree && ((MethodTree) member).getName().contentEquals("<init>")) {
                    MethodTree m = (MethodTree) member;
                    if (m.getBody() == null) continue;
                    for (StatementTree st : m.getBody().getStatements()) {
                        if (st instanceof ExpressionStatementTree
                                && ((ExpressionStatementTree) st).getExpression() instanceof MethodInvocationTree) {
                            TreePath p = new TreePath(new TreePath(new TreePath(new TreePath(bodyPath, m), m.getBody()), st),
                                    ((ExpressionStatementTree) st).getExpression());
                            Element e = trees.getElement(p);
                            if (e instanceof ExecutableElement && e.getKind() == ElementKind.CONSTRUCTOR) return e;
                        }
                    }
                }
            }
            return null;
        }

        @Override
        public Void visitClass(ClassTree node, Void v) {
            try {
                List<Tree> supers = new ArrayList<>();
                if (node.getSimpleName().length() == 0) return super.visitClass(node, v);  // anonymous
                if (node.getExtendsClause() != null) supers.add(node.getExtendsClause());
                supers.addAll(node.getImplementsClause());
                for (Tree t : supers) {
                    Tree base = baseType(t);
                    String name = lastName(base);
                    long nameEnd = positions.getEndPosition(cu, base);
                    if (name == null || !written(nameEnd, name)) continue;
                    Element e = trees.getElement(new TreePath(getCurrentPath(), base));
                    if (!(e instanceof TypeElement) || !usable(e)) continue;
                    List<Object[]> targets = new ArrayList<>();
                    Object[] d = declaration(e);
                    if (d != null) targets.add(d);
                    emit("inherits", nameEnd - name.length(), name, targets, null, null);
                }
            } catch (Throwable ignored) {
            }
            return super.visitClass(node, v);
        }
    }
}
