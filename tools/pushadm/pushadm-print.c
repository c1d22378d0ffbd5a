/* One formatter for every -f format, with doveadm's names and behaviour:
   table (aligned columns with a header), tab (header and TAB-separated rows),
   flow (key=value pairs, one row per line), pager (key: value lines, rows
   separated by a form feed), json (an array of objects). */
#include "pushadm.h"
#include "pushcore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLUMNS 32

struct print_column {
	const char *key, *title;
	size_t width;
};

static enum pushadm_format print_format;
static struct print_column columns[MAX_COLUMNS];
static unsigned int column_count, value_count;
/* table output must be buffered to align the columns */
static char **values;
static size_t values_size;

void pushadm_print_init(struct pushadm_ctx *ctx, enum pushadm_format def)
{
	print_format = ctx->format != PUSHADM_FORMAT_DEFAULT ? ctx->format : def;
	column_count = value_count = 0;
}

void pushadm_print_header(const char *key, const char *title)
{
	if (column_count == MAX_COLUMNS)
		return;
	columns[column_count].key = key;
	columns[column_count].title = title;
	columns[column_count].width = strlen(title);
	column_count++;
}

static void print_flow_value(unsigned int col, const char *value)
{
	printf("%s%s=%s", col == 0 ? "" : " ", columns[col].key, value);
}

static void print_json_value(unsigned int col, const char *value)
{
	struct pushcore_json *json = pushcore_json_new();
	size_t len;
	const char *str;

	pushcore_json_string(json, value);
	str = pushcore_json_result(json, &len);
	printf("%s\"%s\":%.*s", col == 0 ? (value_count / column_count == 0 ?
					     "{" : ",{") : ",",
	       columns[col].key, (int)len, str);
	pushcore_json_free(&json);
}

void pushadm_print(const char *value)
{
	unsigned int col;

	if (column_count == 0)
		return;
	col = value_count % column_count;
	if (value == NULL)
		value = "";
	switch (print_format) {
	case PUSHADM_FORMAT_DEFAULT:
	case PUSHADM_FORMAT_TABLE:
		if (value_count >= values_size) {
			values_size = values_size == 0 ? 64 : values_size * 2;
			values = pushcore_xrealloc(values, values_size * sizeof(*values));
		}
		values[value_count] = pushcore_xstrdup(value);
		if (strlen(value) > columns[col].width)
			columns[col].width = strlen(value);
		break;
	case PUSHADM_FORMAT_TAB:
		if (value_count == 0) {
			for (unsigned int i = 0; i < column_count; i++)
				printf("%s%s", columns[i].title,
				       i + 1 < column_count ? "\t" : "\n");
		}
		printf("%s%s", value, col + 1 < column_count ? "\t" : "\n");
		break;
	case PUSHADM_FORMAT_FLOW:
		print_flow_value(col, value);
		if (col + 1 == column_count)
			putchar('\n');
		break;
	case PUSHADM_FORMAT_PAGER:
		if (col == 0 && value_count > 0)
			putchar('\f');
		printf("%s: %s\n", columns[col].key, value);
		break;
	case PUSHADM_FORMAT_JSON:
		if (value_count == 0)
			putchar('[');
		print_json_value(col, value);
		if (col + 1 == column_count)
			putchar('}');
		break;
	}
	value_count++;
}

static void print_table_row(const char *const *row)
{
	unsigned int i;

	for (i = 0; i < column_count; i++) {
		if (i + 1 < column_count)
			printf("%-*s ", (int)columns[i].width, row[i]);
		else
			printf("%s\n", row[i]);
	}
}

void pushadm_print_flush(void)
{
	const char *titles[MAX_COLUMNS];
	unsigned int i;

	switch (print_format) {
	case PUSHADM_FORMAT_DEFAULT:
	case PUSHADM_FORMAT_TABLE:
		for (i = 0; i < column_count; i++)
			titles[i] = columns[i].title;
		print_table_row(titles);
		for (i = 0; i + column_count <= value_count; i += column_count)
			print_table_row((const char *const *)values + i);
		for (i = 0; i < value_count; i++)
			free(values[i]);
		break;
	case PUSHADM_FORMAT_JSON:
		printf(value_count == 0 ? "[]\n" : "]\n");
		break;
	default:
		break;
	}
	fflush(stdout);
	column_count = value_count = 0;
}
