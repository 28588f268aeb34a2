/*
 * Keyboard shortcuts for the comment moderation queue (the comment changelist).
 *
 * The legend is rendered by the template, so the page works without this file; it only adds
 * behaviour. Approve, reject and spam tick the row and submit the changelist's own action form,
 * so they are ordinary POSTs with the CSRF token, through the admin actions, their permission
 * checks and their history entries.
 */
"use strict";
(function() {
    const ACTIONS = {a: "approve", r: "reject", s: "mark_spam"};
    const POSITION_KEY = "comments-queue-position";
    const LEGEND_KEY = "comments-queue-legend";
    // Inputs in which a letter is text, not a command.
    const NOT_TEXT = ["button", "checkbox", "radio", "reset", "submit", "image", "file", "range", "color"];

    function isTyping(element) {
        if (!(element instanceof Element)) {
            return false;
        }
        if (element.isContentEditable || element.closest("textarea, select")) {
            return true;
        }
        return element.tagName === "INPUT" && !NOT_TEXT.includes(element.type);
    }

    function storage(kind) {
        // Private windows may refuse storage; the shortcuts still work, without memory.
        try {
            return window[kind];
        } catch (error) {
            return null;
        }
    }

    function start() {
        const form = document.getElementById("changelist-form");
        const table = document.getElementById("result_list");
        if (!form || !table || !table.tBodies.length) {
            return;
        }
        const rows = Array.from(table.tBodies[0].rows);
        const legend = document.getElementById("queue-shortcuts");
        const here = window.location.pathname + window.location.search;
        const session = storage("sessionStorage");
        const local = storage("localStorage");
        let current = -1;

        rows.forEach(function(row) {
            row.tabIndex = -1;
        });

        function highlight(index, focus) {
            if (!rows.length) {
                return;
            }
            index = Math.max(0, Math.min(rows.length - 1, index));
            if (current >= 0) {
                rows[current].classList.remove("queue-current");
                rows[current].removeAttribute("aria-current");
            }
            current = index;
            const row = rows[current];
            row.classList.add("queue-current");
            row.setAttribute("aria-current", "true");
            if (focus) {
                row.focus();
            }
            if (session) {
                session.setItem(POSITION_KEY, JSON.stringify({page: here, index: current}));
            }
        }

        function checkbox(row) {
            return row.querySelector("input.action-select");
        }

        function act(action) {
            const selects = form.querySelectorAll("select[name=action]");
            const go = form.querySelector("button[name=index]");
            // Without the change permission the action is not offered: do nothing.
            if (!go || !selects.length || !selects[0].querySelector(`option[value="${action}"]`)) {
                return;
            }
            const ticked = rows.map(checkbox).filter((box) => box && box.checked);
            if (!ticked.length) {
                const box = current >= 0 ? checkbox(rows[current]) : null;
                if (!box) {
                    return;
                }
                box.click(); // through actions.js, so its counter and row colour follow
            }
            selects.forEach(function(select) {
                select.value = action;
            });
            form.requestSubmit(go);
        }

        function openArticle() {
            const link = current >= 0 ? rows[current].querySelector("a[data-queue-open]") : null;
            if (link) {
                window.open(link.href, "_blank", "noopener");
            }
        }

        function openComment() {
            const link = rows[current].querySelector("th a, td a");
            if (link) {
                window.location.assign(link.href);
            }
        }

        function toggleLegend() {
            if (legend) {
                legend.open = !legend.open;
            }
        }

        if (legend && local) {
            if (local.getItem(LEGEND_KEY) === "closed") {
                legend.open = false;
            }
            legend.addEventListener("toggle", function() {
                local.setItem(LEGEND_KEY, legend.open ? "open" : "closed");
            });
        }

        // After an action the queue reloads; stay at the same place, now the next comment.
        const saved = session ? JSON.parse(session.getItem(POSITION_KEY) || "null") : null;
        if (saved && saved.page === here && rows.length) {
            highlight(saved.index, true);
        }

        table.addEventListener("click", function(event) {
            const row = event.target.closest("tbody tr");
            if (row) {
                highlight(rows.indexOf(row), false);
            }
        });

        document.addEventListener("keydown", function(event) {
            if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) {
                return;
            }
            if (isTyping(event.target)) {
                return;
            }
            const key = event.key;
            if (key === "j") {
                highlight(current + 1, true);
            } else if (key === "k") {
                highlight(current < 0 ? 0 : current - 1, true);
            } else if (Object.hasOwn(ACTIONS, key)) {
                act(ACTIONS[key]);
            } else if (key === "x" && current >= 0) {
                const box = checkbox(rows[current]);
                if (box) {
                    box.click();
                }
            } else if (key === "o" && current >= 0) {
                openArticle();
            } else if (key === "Enter" && current >= 0 && event.target === rows[current]) {
                openComment();
            } else if (key === "?") {
                toggleLegend();
            } else {
                return;
            }
            event.preventDefault();
        });
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", start);
    } else {
        start();
    }
})();
