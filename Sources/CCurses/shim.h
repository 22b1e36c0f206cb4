// Thin shim over ncursesw: the wide-character API needs _XOPEN_SOURCE_EXTENDED, and several curses
// "functions" are macros Swift cannot import; these inline wrappers expose them. Nothing else lives here.
#ifndef QWENTTY_CCURSES_SHIM_H
#define QWENTTY_CCURSES_SHIM_H
#define _XOPEN_SOURCE_EXTENDED 1
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <ncursesw/curses.h>

// The column width ncursesw gives a character (glibc hides the prototype without _XOPEN_SOURCE).
extern int wcwidth(wchar_t c);
static inline int qw_wcwidth(wchar_t c) { return wcwidth(c); }
static inline int qw_color_pair(int n) { return COLOR_PAIR(n); }
static inline int qw_lines(void) { return LINES; }
static inline int qw_cols(void) { return COLS; }
static inline int qw_colors(void) { return COLORS; }
static inline WINDOW *qw_stdscr(void) { return stdscr; }
static inline int qw_attr_bold(void) { return A_BOLD; }
static inline int qw_attr_reverse(void) { return A_REVERSE; }
static inline int qw_attr_dim(void) { return A_DIM; }
static inline int qw_key_resize(void) { return KEY_RESIZE; }
static inline int qw_key_code_yes(void) { return KEY_CODE_YES; }
static inline int qw_attr_underline(void) { return A_UNDERLINE; }
static inline int qw_key_f(int n) { return KEY_F(n); }
static inline int qw_key_mouse(void) { return KEY_MOUSE; }
static inline mmask_t qw_wheel_up(void) { return BUTTON4_PRESSED; }
static inline mmask_t qw_wheel_down(void) { return BUTTON5_PRESSED; }
#endif
