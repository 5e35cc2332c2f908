/* onnx_write.c: serialize a graph as an ONNX ModelProto, straight to disk.
 *
 * protobuf-c packs every message except the weights' bytes.  Protobuf lets a
 * message's fields come in any order and a repeated field's items be spread
 * out, so the file is laid down as
 *
 *   ModelProto fields (graph left out)
 *   tag(graph) len  GraphProto fields (initializers left out)
 *                   tag(initializer) len  TensorProto header  tag(raw_data) len  <bytes>
 *                   ... one per weight
 *
 * with every length, and so every weight's offset, known beforehand.  The
 * headers are packed in memory and written at their place; the weights'
 * bytes go from the caller's memory to theirs by several threads
 * (weight_bytes.c), converted or transposed a chunk at a time, so the model
 * never exists whole in memory.  Large weights may go to an external data
 * file instead (or to a store shared by several models, external_store.c),
 * at 4096-aligned offsets so onnxruntime can map them.
 * Both files appear under temporary names and are renamed when complete.
 * Assumes a little-endian host, as ONNX's raw_data is little-endian.
 */
#include "external_store.h"
#include "weight_bytes.h"
#include "graph_impl.h"
#include "onnx.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK_BYTES (1u << 20)
#define PROTOBUF_LIMIT ((uint64_t)2 << 30)
#define EXTERNAL_ALIGN 4096

/* ---- headers: packed into memory, then written at their place ------------ */

typedef struct mem_sink {
    ProtobufCBuffer base;
    uint8_t *data;
    size_t len, cap;
    int failed;
} mem_sink;

static void mem_append(ProtobufCBuffer *buf, size_t len, const uint8_t *data)
{
    mem_sink *s = (mem_sink *)buf;
    if (s->failed || len == 0)
        return;
    if (s->len + len > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + len)
            cap *= 2;
        uint8_t *grown = realloc(s->data, cap);
        if (grown == NULL) {
            s->failed = ENOMEM;
            return;
        }
        s->data = grown;
        s->cap = cap;
    }
    memcpy(s->data + s->len, data, len);
    s->len += len;
}

static void mem_init(mem_sink *s)
{
    memset(s, 0, sizeof *s);
    s->base.append = mem_append;
}

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void put_varint(mem_sink *s, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    mem_append(&s->base, n, b);
}

/* a length-delimited field's tag: (field << 3) | 2 */
static void put_len_tag(mem_sink *s, unsigned field, uint64_t len)
{
    put_varint(s, ((uint64_t)field << 3) | 2u);
    put_varint(s, len);
}

/* Write the sink's bytes at `*pos` of fd and advance *pos; empties the sink. */
static int mem_flush(mem_sink *s, int fd, uint64_t *pos)
{
    if (s->failed)
        return s->failed;
    size_t done = 0;
    while (done < s->len) {
        ssize_t n = pwrite(fd, s->data + done, s->len - done, (off_t)(*pos + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO;
        done += (size_t)n;
    }
    *pos += s->len;
    s->len = 0;
    return 0;
}

/* ---- building the protobuf messages (in a scratch arena) ---------------- */

typedef struct writer {
    hfo_graph *g;
    hfo_arena scratch;
    int oom;
} writer;

static void *walloc(writer *w, size_t n)
{
    void *p = hfo_arena_alloc(&w->scratch, n);
    if (p == NULL)
        w->oom = 1;
    return p;
}

/* An optional string field: NULL (absent) when empty.  protobuf-c never
 * writes through these pointers. */
static char *wstr(const char *s)
{
    return (char *)(s && s[0] ? s : NULL);
}

static Onnx__TypeProto *type_proto(writer *w, const hfo_value *v)
{
    Onnx__TypeProto *t = walloc(w, sizeof *t);
    Onnx__TypeProto__Tensor *tt = walloc(w, sizeof *tt);
    if (t == NULL || tt == NULL)
        return NULL;
    onnx__type_proto__init(t);
    onnx__type_proto__tensor__init(tt);
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = (int32_t)v->dtype;
    if (v->rank < 0)
        return t;
    Onnx__TensorShapeProto *sh = walloc(w, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dims = walloc(w, (size_t)(v->rank + 1) * sizeof *dims);
    if (sh == NULL || dims == NULL)
        return NULL;
    onnx__tensor_shape_proto__init(sh);
    for (int i = 0; i < v->rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = walloc(w, sizeof *d);
        if (d == NULL)
            return NULL;
        onnx__tensor_shape_proto__dimension__init(d);
        if (v->dims[i].param) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = wstr(v->dims[i].param);
        } else if (v->dims[i].size >= 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = v->dims[i].size;
        }
        dims[i] = d;
    }
    sh->n_dim = (size_t)v->rank;
    sh->dim = dims;
    tt->shape = sh;
    return t;
}

static Onnx__ValueInfoProto *value_info(writer *w, const hfo_value *v)
{
    Onnx__ValueInfoProto *vi = walloc(w, sizeof *vi);
    if (vi == NULL)
        return NULL;
    onnx__value_info_proto__init(vi);
    vi->name = wstr(v->name);
    vi->type = type_proto(w, v);
    return vi;
}

/* A TensorProto header for weight `v`; inline bytes only when `with_bytes`
 * (tensor attributes: small constants owned by the graph). */
static Onnx__TensorProto *tensor_header(writer *w, const value_rec *v, int with_bytes)
{
    Onnx__TensorProto *t = walloc(w, sizeof *t);
    int64_t *dims = walloc(w, (size_t)(v->pub.rank + 1) * sizeof *dims);
    if (t == NULL || dims == NULL)
        return NULL;
    onnx__tensor_proto__init(t);
    for (int i = 0; i < v->pub.rank; i++)
        dims[i] = v->pub.dims[i].size;
    t->n_dims = (size_t)v->pub.rank;
    t->dims = dims;
    t->has_data_type = 1;
    t->data_type = (int32_t)v->pub.dtype;
    t->name = wstr(v->pub.name);
    if (with_bytes) {
        t->has_raw_data = 1;
        t->raw_data.len = hfo_value_nbytes(v);
        t->raw_data.data = (uint8_t *)v->data;
    }
    return t;
}

static Onnx__GraphProto *subgraph_proto(writer *w, const hfo_graph *sg);

static Onnx__AttributeProto *attribute(writer *w, const hfo_attr *a)
{
    Onnx__AttributeProto *p = walloc(w, sizeof *p);
    if (p == NULL)
        return NULL;
    onnx__attribute_proto__init(p);
    p->name = wstr(a->name);
    p->has_type = 1;
    p->type = (Onnx__AttributeProto__AttributeType)a->type;
    switch (a->type) {
    case HFO_ATTR_INT:
        p->has_i = 1;
        p->i = a->i;
        break;
    case HFO_ATTR_FLOAT:
        p->has_f = 1;
        p->f = a->f;
        break;
    case HFO_ATTR_STRING:
        p->has_s = 1;
        p->s.data = (uint8_t *)(a->s ? a->s : "");
        p->s.len = a->s ? strlen(a->s) : 0;
        break;
    case HFO_ATTR_INTS:
        p->n_ints = a->n;
        p->ints = (int64_t *)a->ints;
        break;
    case HFO_ATTR_FLOATS:
        p->n_floats = a->n;
        p->floats = (float *)a->floats;
        break;
    case HFO_ATTR_STRINGS: {
        ProtobufCBinaryData *s = walloc(w, (a->n + 1) * sizeof *s);
        if (s == NULL)
            return NULL;
        for (size_t i = 0; i < a->n; i++) {
            s[i].data = (uint8_t *)a->strings[i];
            s[i].len = strlen(a->strings[i]);
        }
        p->n_strings = a->n;
        p->strings = s;
        break;
    }
    case HFO_ATTR_TENSOR:
        p->t = tensor_header(w, (const value_rec *)a->tensor, 1);
        break;
    case HFO_ATTR_GRAPH:
        p->g = subgraph_proto(w, a->graph);
        break;
    default:
        break;
    }
    return p;
}

static Onnx__NodeProto *node_proto(writer *w, const node_rec *n)
{
    Onnx__NodeProto *p = walloc(w, sizeof *p);
    char **in = walloc(w, (n->n_in + 1) * sizeof *in);
    char **out = walloc(w, (n->n_out + 1) * sizeof *out);
    Onnx__AttributeProto **attrs = walloc(w, (n->n_attr + 1) * sizeof *attrs);
    if (p == NULL || in == NULL || out == NULL || attrs == NULL)
        return NULL;
    onnx__node_proto__init(p);
    for (size_t i = 0; i < n->n_in; i++)
        in[i] = (char *)(n->in[i] ? n->in[i]->pub.name : "");   /* "": omitted optional input */
    for (size_t i = 0; i < n->n_out; i++)
        out[i] = (char *)n->out[i]->name;
    for (size_t i = 0; i < n->n_attr; i++)
        attrs[i] = attribute(w, &n->attrs[i]);
    p->n_input = n->n_in;
    p->input = in;
    p->n_output = n->n_out;
    p->output = out;
    p->n_attribute = n->n_attr;
    p->attribute = attrs;
    p->name = wstr(n->name);
    p->op_type = wstr(n->op_type);
    p->domain = wstr(n->domain);
    return p;
}

/* A subgraph's nodes and outputs; its weights are the main graph's initializers. */
static Onnx__GraphProto *subgraph_proto(writer *w, const hfo_graph *sg)
{
    Onnx__GraphProto *p = walloc(w, sizeof *p);
    Onnx__NodeProto **nodes = walloc(w, (sg->nodes.len + 1) * sizeof *nodes);
    Onnx__ValueInfoProto **outs = walloc(w, (sg->outputs.len + 1) * sizeof *outs);
    if (p == NULL || nodes == NULL || outs == NULL)
        return NULL;
    onnx__graph_proto__init(p);
    p->name = wstr(sg->name);
    for (size_t i = 0; i < sg->nodes.len; i++)
        nodes[i] = node_proto(w, sg->nodes.items[i]);
    for (size_t i = 0; i < sg->outputs.len; i++)
        outs[i] = value_info(w, sg->outputs.items[i]);
    p->n_node = sg->nodes.len;
    p->node = nodes;
    p->n_output = sg->outputs.len;
    p->output = outs;
    return p;
}

/* Mark the values read by g's nodes, its subgraphs' nodes, and its outputs. */
static void mark_used(const hfo_graph *g, unsigned char *used)
{
    for (size_t i = 0; i < g->nodes.len; i++) {
        const node_rec *n = g->nodes.items[i];
        for (size_t k = 0; k < n->n_in; k++)
            if (n->in[k])
                used[n->in[k]->pub.index] = 1;
        for (size_t k = 0; k < n->n_attr; k++)
            if (n->attrs[k].type == HFO_ATTR_GRAPH && n->attrs[k].graph)
                mark_used(n->attrs[k].graph, used);
    }
    for (size_t i = 0; i < g->outputs.len; i++)
        used[((const value_rec *)g->outputs.items[i])->pub.index] = 1;
}

static int64_t ir_version_for(int opset)
{
    /* the IR version each ONNX release paired with its newest opset */
    if (opset <= 8) return 3;
    if (opset == 9) return 4;
    if (opset == 10) return 5;
    if (opset == 11) return 6;
    if (opset <= 14) return 7;
    if (opset <= 18) return 8;
    if (opset <= 20) return 9;
    if (opset <= 22) return 10;
    return 11;
}

/* ---- files -------------------------------------------------------------- */

typedef struct out_file {
    char *final_path;
    char *tmp_path;
    int fd;
} out_file;

/* Create "<path>.tmp-XXXXXX" with the permissions a new file would get. */
static int out_open(hfo_graph *g, out_file *o, const char *path)
{
    memset(o, 0, sizeof o[0]);
    o->fd = -1;
    size_t len = strlen(path);
    o->final_path = strdup(path);
    o->tmp_path = malloc(len + 16);
    if (o->final_path == NULL || o->tmp_path == NULL) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
        return -1;
    }
    snprintf(o->tmp_path, len + 16, "%s.tmp-XXXXXX", path);
    o->fd = mkstemp(o->tmp_path);
    if (o->fd < 0) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        free(o->tmp_path);
        o->tmp_path = NULL;
        return -1;
    }
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(o->fd, 0666 & ~mask);
    return 0;
}

/* Close; on success keep the temp file for the rename, else remove it. */
static int out_close(hfo_graph *g, out_file *o, int ok)
{
    if (o->fd >= 0) {
        if (close(o->fd) != 0 && ok) {
            hfo_graph_fail(g, HFO_GRAPH_ERR_IO, "cannot write '%s': %s", o->final_path, strerror(errno));
            ok = 0;
        }
        o->fd = -1;
    }
    if (!ok && o->tmp_path != NULL)
        unlink(o->tmp_path);
    return ok ? 0 : -1;
}

static int out_commit(hfo_graph *g, out_file *o)
{
    if (rename(o->tmp_path, o->final_path) != 0) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_IO, "cannot rename '%s' to '%s': %s", o->tmp_path, o->final_path,
                       strerror(errno));
        unlink(o->tmp_path);
        return -1;
    }
    return 0;
}

static void out_free(out_file *o)
{
    free(o->final_path);
    free(o->tmp_path);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* ---- the writer --------------------------------------------------------- */

typedef struct weight_plan {
    value_rec *v;
    Onnx__TensorProto *header;
    size_t nbytes;
    int external;
    uint64_t offset;          /* in the external file */
    size_t size;              /* packed TensorProto, bytes included when inline */
    int store_new;            /* shared store: not in the file yet, this write adds it */
} weight_plan;

int hfo_graph_write(hfo_graph *g, const char *path, const hfo_write_options *opts)
{
    if (hfo_graph_failed(g))
        return -1;
    if (g->root != g) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "'%s' is a subgraph; write the main graph", g->name);
        return -1;
    }
    if (g->outputs.len == 0) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "the graph has no outputs; declare at least one before writing");
        return -1;
    }
    hfo_write_options defaults = {0};
    if (opts == NULL)
        opts = &defaults;
    size_t min_bytes = opts->external_min_bytes ? opts->external_min_bytes : 1024;

    writer w = {.g = g};
    weight_plan *plan = NULL;
    hfo_write_job *jobs = NULL;
    char *ext_path = NULL;
    const char *ext_name = NULL;
    out_file model = {0}, ext = {0};
    int rc = -1, model_open = 0, ext_open = 0, store_begun = 0;

    /* Which weights are used (by a node or as an output): only those are written. */
    unsigned char *used = calloc(g->values.len + 1, 1);
    plan = calloc(g->values.len + 1, sizeof *plan);
    if (used == NULL || plan == NULL) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
        goto done;
    }
    mark_used(g, used);

    size_t n_weights = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < g->values.len; i++) {
        value_rec *v = g->values.items[i];
        if (v->pub.kind != HFO_VALUE_WEIGHT || !used[i])
            continue;
        plan[n_weights].v = v;
        plan[n_weights].nbytes = hfo_value_nbytes(v);
        total += plan[n_weights].nbytes;
        n_weights++;
    }

    hfo_external_store *store = opts->store;
    int want_external = store != NULL || opts->force_external || opts->external_name != NULL
        || total > PROTOBUF_LIMIT - ((uint64_t)64 << 20);
    if (store != NULL) {
        ext_name = hfo_store_name(store);
        size_t dir_len = (size_t)(base_name(path) - path);
        const char *sp = hfo_store_path(store);
        size_t sdir_len = (size_t)(base_name(sp) - sp);
        if (dir_len != sdir_len || strncmp(path, sp, dir_len) != 0) {
            hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "the model '%s' must be written in the folder of its "
                           "external data file '%s'", path, sp);
            goto done;
        }
        if (strcmp(sp, path) == 0) {
            hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "external data file '%s' would overwrite the model", sp);
            goto done;
        }
        hfo_store_begin(store);
        store_begun = 1;
    } else if (want_external) {
        ext_name = opts->external_name;
        if (ext_name == NULL) {
            char *tmp = hfo_arena_printf(&w.scratch, "%s_data", base_name(path));
            if (tmp == NULL) {
                hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
                goto done;
            }
            ext_name = tmp;
        }
        if (strchr(ext_name, '/') != NULL || ext_name[0] == '\0' || strcmp(ext_name, "..") == 0) {
            hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "external data name '%s' must be a bare file name", ext_name);
            goto done;
        }
        size_t dir_len = (size_t)(base_name(path) - path);
        ext_path = malloc(dir_len + strlen(ext_name) + 1);
        if (ext_path == NULL) {
            hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
            goto done;
        }
        memcpy(ext_path, path, dir_len);
        strcpy(ext_path + dir_len, ext_name);
        if (strcmp(ext_path, path) == 0) {
            hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "external data file '%s' would overwrite the model", ext_name);
            goto done;
        }
    }

    /* Headers and sizes. */
    uint64_t ext_offset = 0, inline_total = 0;
    for (size_t k = 0; k < n_weights; k++) {
        weight_plan *p = &plan[k];
        p->header = tensor_header(&w, p->v, 0);
        if (p->header == NULL)
            break;
        /* constants (shapes, axes, scalars) stay inline whatever the threshold:
         * shape inference must be able to read them */
        p->external = want_external && p->nbytes >= min_bytes
            && (!p->v->is_const || p->nbytes >= CHUNK_BYTES);
        if (p->external && store != NULL) {
            if (hfo_store_place(store, p->v, p->nbytes, &p->offset, &p->store_new) < 0) {
                w.oom = 1;
                break;
            }
        } else if (p->external) {
            ext_offset = (ext_offset + EXTERNAL_ALIGN - 1) / EXTERNAL_ALIGN * EXTERNAL_ALIGN;
            p->offset = ext_offset;
            ext_offset += p->nbytes;
        }
        if (p->external) {
            Onnx__StringStringEntryProto **kv = walloc(&w, 3 * sizeof *kv);
            Onnx__StringStringEntryProto *e = walloc(&w, 3 * sizeof *e);
            char *off = hfo_arena_printf(&w.scratch, "%" PRIu64, p->offset);
            char *len = hfo_arena_printf(&w.scratch, "%zu", p->nbytes);
            if (kv == NULL || e == NULL || off == NULL || len == NULL) {
                w.oom = 1;
                break;
            }
            const char *keys[3] = {"location", "offset", "length"};
            const char *vals[3] = {ext_name, off, len};
            for (int j = 0; j < 3; j++) {
                onnx__string_string_entry_proto__init(&e[j]);
                e[j].key = wstr(keys[j]);
                e[j].value = wstr(vals[j]);
                kv[j] = &e[j];
            }
            p->header->n_external_data = 3;
            p->header->external_data = kv;
            p->header->has_data_location = 1;
            p->header->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
            p->size = protobuf_c_message_get_packed_size(&p->header->base);
        } else {
            p->size = protobuf_c_message_get_packed_size(&p->header->base)
                + 1 + varint_size(p->nbytes) + p->nbytes;
            inline_total += p->nbytes;
        }
    }
    if (w.oom) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (inline_total > PROTOBUF_LIMIT - ((uint64_t)64 << 20)) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "%" PRIu64 " bytes of weights would stay inside the model, over "
                       "protobuf's 2 GB limit; lower the external data threshold", inline_total);
        goto done;
    }

    /* The graph without its initializers. */
    Onnx__GraphProto graph;
    onnx__graph_proto__init(&graph);
    graph.name = wstr(g->name);
    graph.n_node = g->nodes.len;
    graph.node = walloc(&w, (g->nodes.len + 1) * sizeof *graph.node);
    graph.n_input = g->inputs.len;
    graph.input = walloc(&w, (g->inputs.len + 1) * sizeof *graph.input);
    graph.n_output = g->outputs.len;
    graph.output = walloc(&w, (g->outputs.len + 1) * sizeof *graph.output);
    if (graph.node && graph.input && graph.output) {
        for (size_t i = 0; i < g->nodes.len; i++)
            graph.node[i] = node_proto(&w, g->nodes.items[i]);
        for (size_t i = 0; i < g->inputs.len; i++)
            graph.input[i] = value_info(&w, g->inputs.items[i]);
        for (size_t i = 0; i < g->outputs.len; i++)
            graph.output[i] = value_info(&w, g->outputs.items[i]);
    }

    /* The model without its graph. */
    Onnx__ModelProto m;
    onnx__model_proto__init(&m);
    m.has_ir_version = 1;
    m.ir_version = ir_version_for(hfo_graph_opset(g));
    m.producer_name = wstr(g->producer_name ? g->producer_name : "hfonnx");
    m.producer_version = wstr(g->producer_version);
    m.doc_string = wstr(g->doc);
    m.n_opset_import = g->opsets.len;
    m.opset_import = walloc(&w, (g->opsets.len + 1) * sizeof *m.opset_import);
    m.n_metadata_props = g->metadata.len;
    m.metadata_props = walloc(&w, (g->metadata.len + 1) * sizeof *m.metadata_props);
    if (m.opset_import && m.metadata_props) {
        for (size_t i = 0; i < g->opsets.len; i++) {
            const opset_rec *os = g->opsets.items[i];
            Onnx__OperatorSetIdProto *o = walloc(&w, sizeof *o);
            if (o == NULL)
                break;
            onnx__operator_set_id_proto__init(o);
            o->domain = wstr(os->domain);
            o->has_version = 1;
            o->version = os->version;
            m.opset_import[i] = o;
        }
        for (size_t i = 0; i < g->metadata.len; i++) {
            const kv_rec *kv = g->metadata.items[i];
            Onnx__StringStringEntryProto *e = walloc(&w, sizeof *e);
            if (e == NULL)
                break;
            onnx__string_string_entry_proto__init(e);
            e->key = wstr(kv->key);
            e->value = wstr(kv->value);
            m.metadata_props[i] = e;
        }
    }
    if (w.oom) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
        goto done;
    }

    uint64_t graph_size = protobuf_c_message_get_packed_size(&graph.base);
    for (size_t k = 0; k < n_weights; k++)
        graph_size += 1 + varint_size(plan[k].size) + plan[k].size;

    /* Lay the model file out: headers where they go, each inline weight's
     * bytes at a known offset; then all weight bytes (the model's and the
     * external file's) in parallel with pwrite. */
    jobs = calloc(n_weights + 1, sizeof *jobs);
    if (jobs == NULL) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t n_jobs = 0;
    int ext_fd = -1;
    if (store != NULL) {
        ext_fd = hfo_store_fd(store);
        if (ext_fd < 0) {
            hfo_graph_fail(g, HFO_GRAPH_ERR_IO, "the external data file '%s' failed earlier; open a new one",
                           hfo_store_path(store));
            goto done;
        }
    } else if (want_external) {
        if (out_open(g, &ext, ext_path) < 0)
            goto done;
        ext_open = 1;
        ext_fd = ext.fd;
    }
    if (out_open(g, &model, path) < 0)
        goto done;
    model_open = 1;

    mem_sink head;
    mem_init(&head);
    uint64_t pos = 0;
    protobuf_c_message_pack_to_buffer(&m.base, &head.base);
    put_len_tag(&head, 7, graph_size);                      /* ModelProto.graph */
    protobuf_c_message_pack_to_buffer(&graph.base, &head.base);
    int err = 0;
    for (size_t k = 0; k < n_weights && err == 0; k++) {
        put_len_tag(&head, 5, plan[k].size);                /* GraphProto.initializer */
        protobuf_c_message_pack_to_buffer(&plan[k].header->base, &head.base);
        if (plan[k].external) {
            if (store == NULL || plan[k].store_new)
                jobs[n_jobs++] = (hfo_write_job){.v = plan[k].v, .fd = ext_fd, .offset = plan[k].offset};
            continue;
        }
        put_len_tag(&head, 9, plan[k].nbytes);              /* TensorProto.raw_data */
        err = mem_flush(&head, model.fd, &pos);
        jobs[n_jobs++] = (hfo_write_job){.v = plan[k].v, .fd = model.fd, .offset = pos};
        pos += plan[k].nbytes;
    }
    if (err == 0)
        err = mem_flush(&head, model.fd, &pos);
    free(head.data);
    if (err == 0)
        err = hfo_write_tensors(jobs, n_jobs, opts->threads);
    if (err == 0 && ext_open && ftruncate(ext_fd, (off_t)ext_offset) != 0)   /* exactly its tensors */
        err = errno;
    if (err != 0) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_IO, "cannot write '%s'%s%s: %s", path,
                       want_external ? " and its external data " : "",
                       want_external ? (store ? hfo_store_path(store) : ext_path) : "", strerror(err));
        goto done;
    }
    rc = 0;

done:
    if (ext_open && out_close(g, &ext, rc == 0) < 0)
        rc = -1;
    if (model_open && out_close(g, &model, rc == 0) < 0)
        rc = -1;
    if (rc == 0) {
        if (ext_open && out_commit(g, &ext) < 0) {
            unlink(model.tmp_path);
            rc = -1;
        } else if (out_commit(g, &model) < 0) {
            if (ext_open)
                unlink(ext.final_path);
            rc = -1;
        }
    } else {   /* out_close removed the temp files it was told to; make sure of both */
        if (ext_open)
            unlink(ext.tmp_path);
        if (model_open)
            unlink(model.tmp_path);
    }
    if (store_begun)
        hfo_store_end(store, rc == 0);
    out_free(&model);
    out_free(&ext);
    free(ext_path);
    free(used);
    free(plan);
    free(jobs);
    hfo_arena_free(&w.scratch);
    return rc;
}
